"""Reading and changing the manifests (target_s3.lake) in one Storage.

Every change is a read-modify-write that succeeds only if nobody else wrote in
between (a conditional PUT on S3, a lock plus rename on disk); on a conflict
the change is re-applied to the fresh manifest, so concurrent writers never
lose each other's entries.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from target_s3.lake import Layout, Manifest, is_manifest_key, layer_folder
from target_s3.storage import Storage, StorageError

MAX_CONFLICT_RETRIES = 20

logger = logging.getLogger(__name__)


class ManifestConflictError(Exception):
    """Too many concurrent writers kept winning the race for one manifest."""


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


def read_manifests(storage: Storage, prefix: str) -> list[Manifest]:
    """Every stream's manifest under `prefix` (both layouts), in key order."""
    return list(read_manifests_by_key(storage, prefix).values())


def read_manifests_by_key(storage: Storage, prefix: str) -> dict[str, Manifest]:
    """Every stream's manifest under `prefix`, by its key, in key order."""
    manifests = {}
    for key in storage.list_keys(layer_folder(prefix)):
        if not is_manifest_key(key):
            continue
        current = storage.read(key)
        if current is None:
            continue  # deleted since the listing
        try:
            manifests[key] = Manifest.from_json(current.body)
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"{storage.describe(key)} is not a manifest: {exc!r}") from None
    return manifests
