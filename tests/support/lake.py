"""A test-side reader of the raw layer (docs/contracts.md, section 2).

Deliberately independent of target-s3's code: the tests read the lake the way
dbt does, through the manifest only.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml
from botocore.exceptions import ClientError
from tap_igdb.streams import STREAM_TYPES, IncrementalStream

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

Record = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]


def _default_streams() -> tuple[str, ...]:
    definition = yaml.safe_load((ROOT / "extract" / "tap-igdb.meltano.yml").read_text())
    (tap,) = definition["plugins"]["extractors"]
    return tuple(rule.removesuffix(".*") for rule in tap["select"])


# The streams extract/tap-igdb.meltano.yml selects by default (decision 0004).
DEFAULT_STREAMS = _default_streams()
# Streams without a replication key land in the dimensions layout.
SNAPSHOT_STREAMS = frozenset(
    stream.name for stream in STREAM_TYPES if not issubclass(stream, IncrementalStream)
)


class Lake(Protocol):
    """Where the raw layer lives: object keys relative to the lake root."""

    def read(self, key: str) -> bytes | None: ...

    def keys(self, prefix: str) -> list[str]: ...


@dataclass
class LocalLake:
    root: Path

    def read(self, key: str) -> bytes | None:
        path = self.root / key
        return path.read_bytes() if path.is_file() else None

    def keys(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.exists():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file())


@dataclass
class S3Lake:
    client: S3Client
    bucket: str

    def read(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise

    def keys(self, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        return sorted(
            item["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        )

    def tags(self, key: str) -> dict[str, str]:
        tag_set = self.client.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]
        return {tag["Key"]: tag["Value"] for tag in tag_set}


def stream_base(stream: str, prefix: str = "raw") -> str:
    layout = "dimensions/" if stream in SNAPSHOT_STREAMS else ""
    return f"{prefix}/{layout}{stream}"


def manifest(lake: Lake, stream: str, prefix: str = "raw") -> dict[str, Any] | None:
    raw = lake.read(f"{stream_base(stream, prefix)}/_manifest.json")
    return None if raw is None else dict(json.loads(raw))


def listed_records(lake: Lake, stream: str, prefix: str = "raw") -> list[Record]:
    """Every record of every file the stream's manifest lists, in load order."""
    current = manifest(lake, stream, prefix)
    if current is None:
        return []
    records: list[Record] = []
    for item in current["files"]:
        body = lake.read(item["key"])
        assert body is not None, f"manifest lists a missing file: {item['key']}"
        if item["key"].endswith(".gz"):
            body = gzip.decompress(body)
        lines = body.decode().splitlines()
        assert len(lines) == item["records"], f"record count differs for {item['key']}"
        records.extend(json.loads(line) for line in lines)
    return records


def source_fields(record: Record) -> Record:
    """The record as IGDB sent it (without the target's `_sdc_*` columns)."""
    return {key: value for key, value in record.items() if not key.startswith("_sdc_")}


def require_manifest(lake: Lake, stream: str, prefix: str = "raw") -> dict[str, Any]:
    current = manifest(lake, stream, prefix)
    assert current is not None, f"no manifest for stream {stream}"
    return current
