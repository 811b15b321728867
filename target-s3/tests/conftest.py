"""Shared fixtures: one `lake` per storage mode (local directory, real SeaweedFS)."""

from __future__ import annotations

import contextlib
import datetime as dt
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
from target_s3 import lake as contract
from target_s3.lake_lock import LakeLock
from target_s3.manifest_store import ManifestStore
from target_s3.storage import Storage, open_storage
from target_s3.target import TargetS3
from target_s3.vacuum import VacuumResult, vacuum

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

    def vacuum(
        self, now: dt.datetime, *, grace_days: int = 7, wait_seconds: float = 0
    ) -> VacuumResult:
        """The vacuum under the lake lock, as target-s3 runs it, with `now` given."""
        storage = self.storage()
        lock = LakeLock(
            storage, contract.lock_key("raw"), ttl_seconds=60, wait_seconds=wait_seconds
        )
        lock.acquire()
        try:
            manifests = ManifestStore(
                storage,
                lambda: contract.manifest_time(dt.datetime.now(tz=dt.UTC)),
                guard=lock.ensure_held,
            )
            return vacuum(
                storage, manifests, "raw", lock=lock, now=now, grace=dt.timedelta(days=grace_days)
            )
        finally:
            lock.release()

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

    def expiring_rules(self, key: str, tags: dict[str, str], age_days: int) -> list[str]:
        """The bucket's stored lifecycle rules that would have expired this object by now.

        As S3 applies them: an enabled rule whose prefix and tags match expires
        an object `Expiration.Days` after its creation (rounded up to the next
        midnight UTC, so at the earliest once it is that many days old).
        SeaweedFS applies rules only in a daily job: the rules are judged as stored.
        """
        try:
            rules = self.client.get_bucket_lifecycle_configuration(Bucket=self.bucket)["Rules"]
        except self.client.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] == "NoSuchLifecycleConfiguration":
                return []
            raise
        found = []
        for rule in rules:
            condition = rule.get("Filter", {})
            condition = condition.get("And", condition)
            tagset = condition.get("Tags") or ([condition["Tag"]] if "Tag" in condition else [])
            days = rule.get("Expiration", {}).get("Days")
            if (
                rule["Status"] == "Enabled"
                and key.startswith(condition.get("Prefix", ""))
                and all(tags.get(tag["Key"]) == tag["Value"] for tag in tagset)
                and days is not None
                and age_days >= days
            ):
                found.append(rule["ID"])
        return found

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
