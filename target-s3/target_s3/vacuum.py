"""The vacuum: what left its table more than the grace ago, and crash leftovers, deleted.

A file leaves its table when a version swap replaces the manifest's `files`;
the manifest keeps it under `removed` with the time of removal, so a reader
still on the previous manifest (or a rollback) can read it for the grace from
that moment, however long it was listed before. S3 lifecycle rules count from
an object's creation and cannot give that grace; the vacuum counts from the
removal, as Delta Lake's VACUUM does. It deletes:

- removed files whose removal is older than the grace (then drops them from
  `removed`, in a conditional manifest write);
- unlisted batch files older than the grace that no manifest names (left by a
  crashed or superseded run; never listed, so their age is their creation's).

Never a file any manifest lists. It works only while holding the lake lock,
which every writer holds from its first SCHEMA to its end, so a running full
refresh's files (stored, not yet listed) are never touched; the lease is
checked again before each delete. Its notion of now is a parameter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from target_s3.lake import Manifest, RemovedFile, is_batch_key, layer_folder
from target_s3.lake_lock import LakeLock
from target_s3.manifest_store import ManifestStore, read_manifests_by_key
from target_s3.storage import Storage


@dataclass(frozen=True)
class VacuumResult:
    """What one vacuum deleted and kept."""

    deleted_removed: list[str] = field(default_factory=list)
    deleted_leftovers: list[str] = field(default_factory=list)
    removed_in_grace: int = 0
    young_leftovers: int = 0

    @property
    def deleted(self) -> list[str]:
        return [*self.deleted_removed, *self.deleted_leftovers]

    def summary(self, where: str, grace: dt.timedelta) -> str:
        days = f"{grace / dt.timedelta(days=1):g} days"
        return (
            f"vacuum of {where}: deleted {len(self.deleted_removed)} files removed from "
            f"their table more than {days} ago and {len(self.deleted_leftovers)} unlisted "
            f"leftovers older than {days}; kept {self.removed_in_grace} removed files "
            f"still in their grace and {self.young_leftovers} younger leftovers"
        )


def vacuum(
    storage: Storage,
    manifests: ManifestStore,
    prefix: str,
    *,
    lock: LakeLock,
    now: dt.datetime,
    grace: dt.timedelta,
) -> VacuumResult:
    """Delete what is past the grace at `now`; the caller holds `lock`."""
    lock.ensure_held()
    current = read_manifests_by_key(storage, prefix)
    listed = {item.key for manifest in current.values() for item in manifest.files}
    recorded = {item.key for manifest in current.values() for item in manifest.removed}
    # Listed before the deletes start, so the files the vacuum itself deletes
    # below are not counted again as leftovers.
    stored = storage.list_objects(layer_folder(prefix))
    deleted_removed: list[str] = []
    in_grace = 0
    for key, manifest in current.items():
        due = [
            item
            for item in manifest.removed
            if item.removed + grace <= now and item.key not in listed
        ]
        in_grace += len(manifest.removed) - len(due)
        for item in due:
            lock.ensure_held()
            storage.delete(item.key)
            deleted_removed.append(item.key)
        if due:
            _forget(manifests, key, manifest, due)
    deleted_leftovers: list[str] = []
    young = 0
    for found in stored:
        if not is_batch_key(found.key) or found.key in listed or found.key in recorded:
            continue
        if found.written + grace > now:
            young += 1
            continue
        lock.ensure_held()
        storage.delete(found.key)
        deleted_leftovers.append(found.key)
    return VacuumResult(deleted_removed, deleted_leftovers, in_grace, young)


def _forget(
    manifests: ManifestStore, key: str, manifest: Manifest, deleted: list[RemovedFile]
) -> None:
    """Drop the deleted files from the manifest's `removed` (they exist no more)."""
    gone = {item.key for item in deleted}

    def drop(current: Manifest) -> bool:
        kept = [item for item in current.removed if item.key not in gone]
        if len(kept) == len(current.removed):
            return False
        current.removed = kept
        return True

    manifests.update(key, manifest.stream, manifest.layout, drop)
