"""The per-stream `_manifest.json`: the only list of files readers trust.

Every change is a read-modify-write that succeeds only if nobody else wrote in
between (a conditional PUT on S3, a lock plus rename on disk); on a conflict
the change is re-applied to the fresh manifest, so concurrent writers never
lose each other's entries.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from target_s3.storage import Storage

MANIFEST_VERSION = 1
MANIFEST_NAME = "_manifest.json"
MAX_CONFLICT_RETRIES = 20

Layout = Literal["snapshot", "incremental"]

logger = logging.getLogger(__name__)


class ManifestConflictError(Exception):
    """Too many concurrent writers kept winning the race for one manifest."""


@dataclass(frozen=True)
class ManifestFile:
    """One live batch file."""

    key: str
    records: int
    bytes: int
    partition: str | None
    loaded_at: str
    table_version: int


@dataclass
class Manifest:
    """The manifest document, field for field as in docs/contracts.md."""

    stream: str
    layout: Layout
    table_version: int | None = None
    generation: int = 0
    updated_at: str | None = None
    files: list[ManifestFile] = field(default_factory=list)
    # Keys listed by a write whose `final` tagging may not have happened (the
    # writer may have died right after the write); the next writer re-tags them.
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
            untagged=list(document.get("untagged", [])),
            manifest_version=int(document.get("manifest_version", MANIFEST_VERSION)),
        )


Change = Callable[[Manifest], bool]
"""Mutates a manifest in place; returns False to skip the write (nothing to do)."""


class ManifestStore:
    """Reads and conditionally updates manifests in one Storage."""

    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], str],
        guard: Callable[[], None] = lambda: None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.guard = guard  # raises when this writer may no longer write (the lake lock)

    def read(self, key: str) -> Manifest | None:
        current = self.storage.read(key)
        return Manifest.from_json(current.body) if current else None

    def update(self, key: str, stream: str, layout: Layout, change: Change) -> Manifest:
        """Apply `change` atomically; re-read and re-apply on a concurrent write."""
        with self.storage.exclusive(key):
            for attempt in range(MAX_CONFLICT_RETRIES):
                current = self.storage.read(key)
                manifest = (
                    Manifest.from_json(current.body)
                    if current
                    else Manifest(stream=stream, layout=layout)
                )
                if not change(manifest):
                    return manifest
                manifest.generation += 1
                manifest.updated_at = self.clock()
                expected = current.token if current else None
                self.guard()
                if self.storage.write_if(key, manifest.to_json(), expected):
                    return manifest
                delay = min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0)
                logger.info("Manifest %s changed concurrently; retrying", key)
                time.sleep(delay)  # back off before re-reading the winner's manifest
        raise ManifestConflictError(
            f"gave up updating {self.storage.describe(key)} after "
            f"{MAX_CONFLICT_RETRIES} concurrent-write conflicts"
        )
