"""Shared fixtures: one `lake` per storage mode (local directory, real SeaweedFS)."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import pytest
from igdb_emulator.samples import samples_dir
from target_s3.storage import Storage, open_storage
from target_s3.target import TargetS3

# The real S3 server (tests/seaweedfs-fixture), loaded here so that this suite
# runs on its own: `cd target-s3 && ../.venv/bin/pytest`.
pytest_plugins = ["seaweedfs_fixture"]

RESOURCES = Path(__file__).parent / "resources"
BATCHES = RESOURCES / "batches"
BATCH_ROOT = "BATCH_ROOT"  # where the recorded BATCH messages' URLs start (build_resources.py)
SEEDS = samples_dir() / "gameboy-seeds"
TARGET_BIN = str(Path(sys.executable).with_name("target-s3"))


class SingerFiles:
    """The recorded tap outputs under tests/resources/ and the raw IGDB samples."""

    seeds = SEEDS
    resources = RESOURCES
    batches = BATCHES
    target_bin = TARGET_BIN

    @staticmethod
    def start_target(config_path: Path, *, stdout: int, stderr: int) -> subprocess.Popen[str]:
        """A `target-s3` process fed through its stdin pipe."""
        return subprocess.Popen(
            [TARGET_BIN, "--config", str(config_path)],
            stdin=subprocess.PIPE,
            stdout=stdout,
            stderr=stderr,
            text=True,
        )

    @staticmethod
    def lines(
        name: str, *, version: int | None = None, batch_root: str = BATCHES.as_uri()
    ) -> list[str]:
        """A recorded input; `version` replaces every ACTIVATE_VERSION's (a new run).

        BATCH messages name the files under `batch_root` (default: the
        resources' `batches/` folder, as `file://` URLs).
        """
        text = (RESOURCES / name).read_text(encoding="utf-8")
        lines = text.replace(f'"{BATCH_ROOT}/', f'"{batch_root}/').splitlines()
        if version is None:
            return lines
        out = []
        for line in lines:
            message = json.loads(line)
            if message["type"] == "ACTIVATE_VERSION":
                message["version"] = version
                out.append(json.dumps(message))
            else:
                out.append(line)
        return out

    @staticmethod
    def seed_records(name: str) -> list[dict[str, Any]]:
        text = (SEEDS / name).read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines()]

    @staticmethod
    def batch_records() -> list[dict[str, Any]]:
        """The records of the recorded batch files, in file order."""
        return [
            json.loads(line)
            for path in sorted(BATCHES.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()
        ]


@pytest.fixture
def singer() -> SingerFiles:
    return SingerFiles()


@dataclass
class Lake:
    """A lake under test plus the means to look inside it."""

    mode: str
    config: dict[str, Any]
    root: Path | None = None
    client: Any = None
    bucket: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def run(self, lines: Iterable[str], **overrides: Any) -> list[dict[str, Any]]:
        """Run the target in-process; returns the STATE values it emitted.

        The target reads `lines` one at a time, as it would read its stdin: a
        generator may check the lake between two messages.
        """
        out = io.StringIO()
        target = TargetS3(config={**self.config, **overrides})
        with contextlib.redirect_stdout(out):
            target.listen(cast("IO[str]", (f"{line}\n" for line in lines)))
        return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]

    def storage(self) -> Storage:
        """target-s3's own view of this lake (what the target would build)."""
        return open_storage(self.config)

    def keys(self, prefix: str = "") -> list[str]:
        if self.root is not None:
            found = [
                path.relative_to(self.root).as_posix()
                for path in self.root.rglob("*")
                if path.is_file()
            ]
        else:
            paginator = self.client.get_paginator("list_objects_v2")
            found = [
                item["Key"]
                for page in paginator.paginate(Bucket=self.bucket)
                for item in page.get("Contents", [])
            ]
        return sorted(key for key in found if key.startswith(prefix))

    def read_bytes(self, key: str) -> bytes:
        if self.root is not None:
            return (self.root / key).read_bytes()
        return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def manifest(self, stream_key: str) -> dict[str, Any] | None:
        key = f"{stream_key}/_manifest.json"
        if key not in self.keys(stream_key):
            return None
        return json.loads(self.read_bytes(key))  # type: ignore[no-any-return]  # a manifest is a JSON object

    def lines(self, key: str) -> list[str]:
        data = self.read_bytes(key)
        if key.endswith(".gz"):
            data = gzip.decompress(data)
        return data.decode("utf-8").splitlines()

    def records(self, stream_key: str) -> list[dict[str, Any]]:
        """Every record readers see: the manifest's files, in order."""
        manifest = self.manifest(stream_key)
        assert manifest is not None
        return [json.loads(line) for item in manifest["files"] for line in self.lines(item["key"])]

    def status(self, key: str) -> str | None:
        """The object's `status` tag (None on local disk, which has no tags)."""
        if self.root is not None:
            return None
        tags = self.client.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]
        return next((tag["Value"] for tag in tags if tag["Key"] == "status"), None)


@pytest.fixture
def local_lake(tmp_path: Path) -> Lake:
    root = tmp_path / "lake"
    return Lake(mode="local", config={"local_path": str(root)}, root=root)


@pytest.fixture
def s3_lake(seaweedfs: Any, s3_bucket: str) -> Lake:
    config = {
        "bucket": s3_bucket,
        "endpoint_url": seaweedfs.endpoint_url,
        "region": seaweedfs.region,
        "aws_access_key_id": seaweedfs.access_key,
        "aws_secret_access_key": seaweedfs.secret_key,
        "max_retries": 2,
    }
    return Lake(mode="s3", config=config, client=seaweedfs.client(), bucket=s3_bucket)


@pytest.fixture(params=["local", "s3"])
def lake(request: pytest.FixtureRequest) -> Lake:
    """The same behaviour test against local disk and a real S3 server."""
    fixture_name = "local_lake" if request.param == "local" else "s3_lake"
    return request.getfixturevalue(fixture_name)  # type: ignore[no-any-return]  # pytest types fixtures as Any


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    def write(config: dict[str, Any]) -> Path:
        path = tmp_path / f"config-{len(list(tmp_path.glob('config-*.json')))}.json"
        path.write_text(json.dumps(config))
        return path

    return write
