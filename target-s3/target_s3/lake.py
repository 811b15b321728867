"""The raw layer's contract (docs/contracts.md, section 2), in one place.

target-s3 owns the lake's layout: every key, file name, status tag and
metadata column of the raw layer is spelled here and nowhere else, and the
manifest document is read and written here. Other tools read the lake through
this module, never through a copy of it:

- orchestrate/run_summary.py reads the manifests (with target_s3.storage);
- the dbt sources generator imports `METADATA_COLUMNS` and the layout
  functions (`stream_folder`, `manifest_key`, `LAYOUTS`);
- tests/test_lake_contract.py checks the dbt macros' paths against it.

Keep these names stable. Keys are '/'-separated and relative to the lake root
(`s3://{bucket}/` or the local directory); `prefix` is the target's `prefix`
setting without its slashes.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Layout = Literal["snapshot", "incremental"]
LAYOUTS: tuple[Layout, ...] = ("snapshot", "incremental")

DEFAULT_PREFIX = "raw"
DIMENSIONS_FOLDER = "dimensions"  # the snapshot streams' folder under the prefix
MANIFEST_NAME = "_manifest.json"
LOCK_NAME = "_lock.json"
PROBE_NAME = "_target_s3_write_probe"
MANIFEST_VERSION = 1

# The object tag the bucket's lifecycle rules act on, and its values. A file is
# tagged `final` before it is listed, so a listed file is never `temp`.
Status = Literal["temp", "final", "outdated"]
STATUS_TAG = "status"
STATUS_TEMP: Status = "temp"  # stored, never listed: the lifecycle's backstop expires it
STATUS_FINAL: Status = "final"  # listed in a manifest, or about to be: no rule touches it
# Removed from its table (manifest `removed`): no rule touches it either; the
# vacuum deletes it once the grace has passed since its removal.
STATUS_OUTDATED: Status = "outdated"

# The columns the target adds to every record line, as JSON-schema snippets.
EXTRACTED_AT = "_sdc_extracted_at"  # the RECORD message's time_extracted (ISO 8601 UTC)
TABLE_VERSION = "_sdc_table_version"  # the table version the line belongs to (epoch ms)
METADATA_COLUMNS: dict[str, dict[str, Any]] = {
    EXTRACTED_AT: {"type": ["string"], "format": "date-time"},
    TABLE_VERSION: {"type": ["integer"]},
}


def layout_for(bookmark_properties: Sequence[str] | None) -> Layout:
    """The Singer contract (section 1): a non-empty bookmark_properties means incremental."""
    return "incremental" if bookmark_properties else "snapshot"


def stream_folder(prefix: str, stream: str, layout: Layout) -> str:
    """`{prefix}/dimensions/{stream}` (snapshot) or `{prefix}/{stream}` (incremental)."""
    if layout == "snapshot":
        return f"{prefix}/{DIMENSIONS_FOLDER}/{stream}"
    return f"{prefix}/{stream}"


def manifest_key(prefix: str, stream: str, layout: Layout) -> str:
    return f"{stream_folder(prefix, stream, layout)}/{MANIFEST_NAME}"


def is_manifest_key(key: str) -> bool:
    return key.rsplit("/", 1)[-1] == MANIFEST_NAME


def lock_key(prefix: str) -> str:
    """The lake lock's lease (target_s3.lake_lock): one writer at a time."""
    return f"{prefix}/{LOCK_NAME}"


def probe_key(prefix: str) -> str:
    """A write probe of this writer's own: concurrent writers never delete each other's."""
    return f"{prefix}/{PROBE_NAME}-{uuid.uuid4().hex}"


def layer_folder(prefix: str) -> str:
    """Every key of the raw layer starts with this (the lifecycle rules' filter)."""
    return f"{prefix}/"


def partition(layout: Layout, loaded: dt.datetime) -> str | None:
    """`dt=YYYY-MM-DD` (the UTC load date) for incremental files; snapshots have none."""
    return None if layout == "snapshot" else f"dt={loaded.astimezone(dt.UTC):%Y-%m-%d}"


def batch_key(prefix: str, stream: str, layout: Layout, loaded: dt.datetime, *, gzip: bool) -> str:
    """A new batch file: `{folder}[/dt=...]/batch-{YYYYMMDDTHHMMSSZ}-{uuid}.jsonl[.gz]`."""
    folder = stream_folder(prefix, stream, layout)
    day = partition(layout, loaded)
    if day is not None:
        folder = f"{folder}/{day}"
    stamp = f"{loaded.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
    return f"{folder}/batch-{stamp}-{uuid.uuid4()}{'.jsonl.gz' if gzip else '.jsonl'}"


def is_batch_key(key: str) -> bool:
    """A batch file's key (what `batch_key` makes), as the vacuum looks for leftovers."""
    name = key.rsplit("/", 1)[-1]
    return name.startswith("batch-") and name.endswith((".jsonl", ".jsonl.gz"))


def manifest_time(moment: dt.datetime) -> str:
    """The manifest's `loaded_at`, `updated_at` and `removed_at`: UTC, whole seconds."""
    return f"{moment.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"


def parse_manifest_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def status_tagging(status: Status) -> str:
    """The tag as S3's `Tagging` header spells it."""
    return f"{STATUS_TAG}={status}"


@dataclass(frozen=True)
class ManifestFile:
    """One live batch file."""

    key: str
    records: int
    bytes: int
    partition: str | None
    loaded_at: str
    table_version: int


@dataclass(frozen=True)
class RemovedFile:
    """A file that left the table (a version swap), and when: readable for the grace."""

    key: str
    removed_at: str

    @property
    def removed(self) -> dt.datetime:
        return parse_manifest_time(self.removed_at)


@dataclass
class Manifest:
    """The manifest document, field for field as in docs/contracts.md."""

    stream: str
    layout: Layout
    table_version: int | None = None
    generation: int = 0
    updated_at: str | None = None
    files: list[ManifestFile] = field(default_factory=list)
    # Files no longer in `files`, with the time they left it; the vacuum deletes
    # each once the grace has passed since then. Readers of the table ignore it.
    removed: list[RemovedFile] = field(default_factory=list)
    # Written by target-s3 versions that listed files before tagging them
    # `final`: keys maybe still `temp`, which the next writer re-tags. Current
    # versions tag first, so they only ever shorten this list.
    untagged: list[str] = field(default_factory=list)
    manifest_version: int = MANIFEST_VERSION

    def to_json(self) -> bytes:
        document: dict[str, Any] = {
            "manifest_version": self.manifest_version,
            "stream": self.stream,
            "layout": self.layout,
            "table_version": self.table_version,
            "generation": self.generation,
            "updated_at": self.updated_at,
            "files": [asdict(item) for item in self.files],
            "removed": [asdict(item) for item in self.removed],
            "untagged": self.untagged,
        }
        return json.dumps(document, indent=2).encode() + b"\n"

    @classmethod
    def from_json(cls, body: bytes) -> Manifest:
        document = json.loads(body)
        return cls(
            stream=document["stream"],
            layout=document["layout"],
            table_version=document.get("table_version"),
            generation=int(document.get("generation", 0)),
            updated_at=document.get("updated_at"),
            files=[ManifestFile(**item) for item in document.get("files", [])],
            removed=[RemovedFile(**item) for item in document.get("removed", [])],
            untagged=list(document.get("untagged", [])),
            manifest_version=int(document.get("manifest_version", MANIFEST_VERSION)),
        )
