"""The raw-layer sink: batches a stream's records into files and lists them.

Table versions (docs/contracts.md, section 1): the first ACTIVATE_VERSION v
opens version v, whose files stay unlisted (status=temp) until the second
ACTIVATE_VERSION v completes it; then the manifest swaps to exactly v's files
and the previous files become `outdated`. Records arriving outside a version
are appended to the manifest as soon as their file is stored.

A file is tagged `final` before the manifest write that lists it, so no listed
file is ever `temp` (the only tag a lifecycle rule expires); a writer killed in
between leaves an unlisted file, which the vacuum deletes once older than the
grace. The files a swap replaces go to the manifest's `removed` with the time
of removal (the vacuum deletes them after the grace) and are tagged
`outdated`, for people looking at the bucket.

Earlier versions listed first and tagged second, recording the keys of each
write under `untagged`: each writer still re-tags the listed `untagged` keys
at setup (idempotent) and drops those it has tagged from the list at its next
write.
"""

from __future__ import annotations

import datetime as dt
import time
import typing as t

from singer_sdk.sinks import Sink
from typing_extensions import override

from target_s3 import lake
from target_s3.batch_file import BatchFile
from target_s3.lake import (
    STATUS_FINAL,
    STATUS_OUTDATED,
    STATUS_TEMP,
    Layout,
    Manifest,
    ManifestFile,
    RemovedFile,
)
from target_s3.manifest_store import ManifestStore
from target_s3.settings import Settings
from target_s3.storage import Storage, StorageError

if t.TYPE_CHECKING:
    from singer_sdk.target_base import Target


def utc_now() -> dt.datetime:
    return dt.datetime.now(tz=dt.UTC)


class RawLayerSink(Sink):
    """Writes one stream into the raw layer and keeps its manifest.

    Besides the SDK's arguments it is given, explicitly, everything it writes
    with: the lake's storage and manifest store, the settings, and the layout
    the stream's SCHEMA message asked for (target_s3.lake.layout_for).
    """

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, t.Any],
        key_properties: t.Sequence[str] | None,
        *,
        storage: Storage,
        manifests: ManifestStore,
        settings: Settings,
        layout: Layout,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.storage = storage
        self.manifests = manifests
        self.layout = layout
        self._prefix = settings.prefix
        self.manifest_key = lake.manifest_key(self._prefix, stream_name, layout)
        self._gzip = settings.compression == "gzip"
        self._max_records = settings.batch_size_records
        self._max_bytes = settings.batch_size_bytes
        self._batch: BatchFile | None = None
        # The version records are stamped with when no ACTIVATE_VERSION is open.
        self._append_version: int | None = None
        self.open_version: int | None = None
        self._pending: list[ManifestFile] = []
        self._warned_unversioned_snapshot = False
        # Keys this writer knows are tagged: its next write drops them from `untagged`.
        self._tagged: set[str] = set()

    @override
    def setup(self) -> None:
        manifest = self.manifests.read(self.manifest_key)
        if manifest is not None:
            self._append_version = manifest.table_version
            self._finish_interrupted_tagging(manifest)

    def _finish_interrupted_tagging(self, manifest: Manifest) -> None:
        """Tag `final` what an older target listed but may have died before tagging."""
        listed = {item.key for item in manifest.files}
        repaired = [key for key in manifest.untagged if key in listed]
        for key in self.storage.set_status(repaired, STATUS_FINAL):
            self.logger.error(
                "Stream '%s': listed file %s no longer exists (expired before it was "
                "tagged final?); reload the stream with a full refresh",
                self.stream_name,
                self.storage.describe(key),
            )
        self._tagged.update(manifest.untagged)  # unlisted ones need no tag: drop them too

    def _tag_final(self, keys: list[str]) -> None:
        """Tag files `final` before they are listed; a file already gone is never listed."""
        missing = self.storage.set_status(keys, STATUS_FINAL)
        if missing:
            raise StorageError(
                f"stream '{self.stream_name}': stored file {self.storage.describe(missing[0])} "
                "disappeared before it was listed; nothing was listed, rerun"
            )

    def _still_untagged(self, manifest: Manifest) -> list[str]:
        """The manifest's new `untagged`: the keys of an older writer not yet re-tagged."""
        return [key for key in manifest.untagged if key not in self._tagged]

    # Records -------------------------------------------------------------

    @property
    def record_version(self) -> int:
        if self.open_version is not None:
            return self.open_version
        if self._append_version is None:
            # An incremental stream's very first load starts a version itself.
            self._append_version = time.time_ns() // 1_000_000
        return self._append_version

    def write_message(self, record: dict[str, t.Any], extracted_at: str | None) -> None:
        """Fast path used by the target: no copy, no schema round trip."""
        if self.layout == "snapshot" and self.open_version is None:
            self._warn_unversioned_snapshot()
        record[lake.EXTRACTED_AT] = extracted_at or utc_now().isoformat()
        record[lake.TABLE_VERSION] = self.record_version
        if self._batch is None:
            self._batch = BatchFile(gzip_enabled=self._gzip)
        self._batch.write(record)
        self.tally_record_read()

    @override
    def process_record(self, record: dict[str, t.Any], context: dict[str, t.Any]) -> None:
        self.write_message(record, record.get(lake.EXTRACTED_AT))

    @property
    @override
    def is_full(self) -> bool:
        batch = self._batch
        return batch is not None and (
            batch.records >= self._max_records or batch.raw_bytes >= self._max_bytes
        )

    def _warn_unversioned_snapshot(self) -> None:
        if not self._warned_unversioned_snapshot:
            self._warned_unversioned_snapshot = True
            self.logger.warning(
                "Snapshot stream '%s' sent records without ACTIVATE_VERSION: "
                "appending them to the current version instead of replacing it",
                self.stream_name,
            )

    # Files ---------------------------------------------------------------

    @override
    def process_batch(self, context: dict[str, t.Any]) -> None:
        """Store the current batch file; list it now unless its version is open."""
        batch, self._batch = self._batch, None
        if batch is None or batch.records == 0:
            return
        stored = self._store(batch, self.record_version)
        if self.open_version is not None:
            self._pending.append(stored)
            return

        def append(manifest: Manifest) -> bool:
            if manifest.table_version is None:
                manifest.table_version = stored.table_version
            manifest.files.append(stored)
            manifest.untagged = self._still_untagged(manifest)
            return True

        self._tag_final([stored.key])  # before it is listed: no listed file is ever temp
        self.manifests.update(self.manifest_key, self.stream_name, self.layout, append)

    def _store(self, batch: BatchFile, version: int) -> ManifestFile:
        loaded = utc_now()
        key = lake.batch_key(self._prefix, self.stream_name, self.layout, loaded, gzip=self._gzip)
        spool, size = batch.finish()
        try:
            self.storage.put_file(key, spool)
        finally:
            batch.discard()
        self.logger.info("Stored %d records in %s", batch.records, self.storage.describe(key))
        return ManifestFile(
            key=key,
            records=batch.records,
            bytes=size,
            partition=lake.partition(self.layout, loaded),
            loaded_at=lake.manifest_time(loaded),
            table_version=version,
        )

    # Versions ------------------------------------------------------------

    @override
    def activate_version(self, new_version: int) -> None:
        """Open version `new_version`, or complete it when it is already open.

        The target drains this sink first, so no buffered record is pending.
        """
        if self.open_version == new_version:
            self._complete_version(new_version)
            return
        if self.open_version is not None:
            self.logger.warning(
                "Stream '%s': version %d was never completed; its %d files stay unlisted",
                self.stream_name,
                self.open_version,
                len(self._pending),
            )
        self.open_version = new_version
        self._pending = []

    def adopt_version(self, previous: RawLayerSink) -> None:
        """Continue the version a replaced sink (older schema) had open."""
        self.open_version, previous.open_version = previous.open_version, None
        self._pending, previous._pending = previous._pending, []

    def _complete_version(self, version: int) -> None:
        new_files = list(self._pending)
        replaced: list[str] = []
        superseded = False
        new_keys = [item.key for item in new_files]
        incoming = set(new_keys)

        def swap(manifest: Manifest) -> bool:
            nonlocal replaced, superseded
            if manifest.table_version is not None and manifest.table_version > version:
                superseded = True  # a newer version already won: keep it
                return False
            replaced = [item.key for item in manifest.files if item.key not in incoming]
            manifest.files = new_files
            manifest.table_version = version
            # Readable for the grace from now on; the vacuum deletes them after it.
            removed_at = self.manifests.clock()
            manifest.removed += [RemovedFile(key, removed_at) for key in replaced]
            # Replaced files are unlisted now: they must never be re-tagged final.
            unlisted = set(replaced)
            manifest.untagged = [key for key in manifest.untagged if key not in unlisted]
            manifest.untagged = self._still_untagged(manifest)
            return True

        self._tag_final(new_keys)  # before they are listed: no listed file is ever temp
        self.manifests.update(self.manifest_key, self.stream_name, self.layout, swap)
        if superseded:
            self.logger.warning(
                "Stream '%s': version %d is older than the listed version; discarded",
                self.stream_name,
                version,
            )
            self.storage.set_status(new_keys, STATUS_TEMP)  # never listed after all
        else:
            self.storage.set_status(replaced, STATUS_OUTDATED)
            self.logger.info(
                "Stream '%s': version %d complete (%d files, %d replaced)",
                self.stream_name,
                version,
                len(new_keys),
                len(replaced),
            )
        self._append_version = version
        self.open_version = None
        self._pending = []

    @override
    def clean_up(self) -> None:
        if self.open_version is not None:
            self.logger.warning(
                "Stream '%s': version %d was started but not completed before the end "
                "of input; its %d files stay unlisted and its bookmark is held back",
                self.stream_name,
                self.open_version,
                len(self._pending),
            )
        if self._batch is not None:
            self._batch.discard()
            self._batch = None
        super().clean_up()
