"""IGDBStream: the SDK stream of one IGDB endpoint, its schema, where it starts, and
its records handed to the SDK.

What to request, and when, is the run-wide reader's business (reader.py, opened by
the tap): it reads every selected stream ahead on worker threads, through the run's
transport (transport.py). A stream asks the reader for its own responses only, and
decodes them on the main thread, one response at a time, so the SDK stays in charge
of RECORD, STATE and ACTIVATE_VERSION messages.
"""

from __future__ import annotations

import datetime
import time
import typing as t
from functools import cached_property
from importlib import resources

from singer_sdk import Stream
from singer_sdk import singerlib as singer
from singer_sdk.helpers._state import reset_state_progress_markers
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.schema.source import SchemaDirectory, StreamSchema
from typing_extensions import override

from tap_igdb.apicalypse import KeysetWindow
from tap_igdb.batches import write_batches
from tap_igdb.errors import StreamError
from tap_igdb.field_types import FieldTypes
from tap_igdb.progress import Progress
from tap_igdb.timestamps import unix_seconds

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig
    from singer_sdk.helpers.types import Context

    from tap_igdb.plan import StreamResponse
    from tap_igdb.reader import RunReader
    from tap_igdb.responses import RawRecords, Record

SCHEMAS_DIR = resources.files("tap_igdb") / "schemas"


class IGDBStream(Stream):
    """Base class for all IGDB v4 endpoints (`POST /v4/{name}`)."""

    primary_keys: t.ClassVar[list[str]] = ["id"]
    # `schemas/{name}.json`: one complete schema per endpoint.
    schema = StreamSchema(SchemaDirectory(SCHEMAS_DIR))
    # Records leave the tap exactly as IGDB sent them: no coercion, no dropped keys.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # Id ranges are read concurrently, so the SDK must not expect sorted keys.
    is_sorted = False
    fits_one_page: t.ClassVar[bool] = False
    """A small lookup table: its first page shares one opening multiquery with others."""

    def __init__(self, tap: Tap, *, reader: Callable[[], RunReader]) -> None:
        """`reader` gives the run's reader, built on first use: discovery builds the
        streams, and must work with settings a run would refuse."""
        super().__init__(tap=tap)
        self._reader = reader
        self._known_fields = frozenset(self.schema.get("properties", {}))
        self._field_types = FieldTypes(self.name, self.schema)
        self._reported_fields: set[str] = set()
        self._start: tuple[int | None, bool] | None = None
        self.failure: str | None = None
        """Why this sync's read failed (one line), or None."""

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """Always False for the SDK's own mechanism: this class emits table versions.

        The SDK only versions FULL_TABLE streams and only before the records; the
        contract with the target needs INCREMENTAL full reads too, and a closing message.
        """
        return False

    # --- what the reader needs of a stream (plan.Source) ---------------------------------

    @property
    def incremental(self) -> bool:
        """Read on `updated_at` (its newest value caps the bookmark)."""
        return bool(self.replication_key)

    @property
    def requested_fields(self) -> tuple[str, ...] | None:
        """The fields to ask IGDB for, as the catalog selects them: None (`fields *`)
        when every property is selected, so fields the schema does not know yet still
        come (`post_process`); else the selected ones, sorted, with the key and the
        replication key, which paging and the bookmark need whatever the catalog says
        (the SDK includes them automatically unless a catalog drops their `inclusion`).
        The SDK drops deselected properties from the records it writes, too."""
        properties = self.schema.get("properties", {})
        selected = {name for name in properties if self.mask[("properties", name)]}
        if len(selected) == len(properties):
            return None
        needed = {*self.primary_keys, *([self.replication_key] if self.replication_key else [])}
        return tuple(sorted(selected | needed))

    def read_window(self) -> KeysetWindow:
        """The part of the endpoint this run reads: changed since the bookmark, or all."""
        updated_since, _ = self._starting_point_once()
        return KeysetWindow(updated_since=updated_since)

    def checked_records(self, raw: RawRecords) -> list[Record]:
        """Decode an answer's records; a field whose type changed at IGDB fails the stream."""
        records = raw.decode()
        self._field_types.check(records)
        return records

    # --- records ------------------------------------------------------------------------

    @override
    def get_records(self, context: Context | None) -> Iterator[Record]:
        """Read the stream (split when large), framed by a table version when read from
        scratch. A read that fails after its retries ends this stream only (`_fail`)."""
        _, from_scratch = self._starting_point_once()
        versioned = from_scratch and bool(self.config["emit_activate_version_messages"])
        self._stream_version = int(time.time() * 1000) if versioned else None
        self.failure = None
        if self._stream_version is not None:
            self._write_activate_version_message(self._stream_version)
        try:
            yield from self._read(context)
        except StreamError as error:
            self._fail(error, context)
            return
        finally:
            self._start = None  # the next sync works out its own starting point
        if self.get_batch_config(self.config) is None:
            self._close_version()  # in batch mode, after the last BATCH (get_batches)

    def _read(self, context: Context | None) -> Iterator[Record]:
        """The stream's records, one response at a time, as the reader gets them."""
        progress = Progress(
            self.logger,
            self.name,
            interval=float(self.config["progress_interval_seconds"]),
        )
        reader = self._reader()
        read = reader.read(self)
        signposted = False
        for response in reader.responses(self):
            records = self._records_of(response)
            del response  # its JSON, once decoded
            if not signposted and read.newest is not None:
                # Records changed from the probe on get a later updated_at, wherever the
                # read is: the bookmark must not pass them (the SDK caps it at this).
                self._write_replication_key_signpost(
                    context, min(read.newest, self._started_at_seconds)
                )
            signposted = True
            progress.expected = read.count
            progress.advance(len(records))
            yield from records
            del records  # before the next response is decoded: one response in memory at a time
        self.logger.info("%s (done)", progress.describe())

    def _close_version(self) -> None:
        """Send "version v is complete", once every record of the stream is out."""
        if self._stream_version is not None:
            self._write_activate_version_message(self._stream_version)

    def _fail(self, error: StreamError, context: Context | None) -> None:
        """This stream's read failed after its retries: log why, and keep its bookmark
        where it was before this run.

        The SDK would save the highest `updated_at` of the records read so far, past
        records not read yet; its progress markers are dropped instead. No closing
        table version either: the target keeps the table's previous version. The tap
        names every failed stream once the others are read (tap.py).
        """
        self.failure = " ".join(str(error).split())
        self.logger.error("%s: stream failed, the other streams go on: %s", self.name, self.failure)
        reset_state_progress_markers(self.get_context_state(context))

    def _records_of(self, response: StreamResponse) -> list[Record]:
        """Every record of one response, all checked before any of them moves on."""
        records: list[Record] = []
        for page in response:
            records += self.checked_records(page)
        return records

    @override
    def get_batches(
        self, batch_config: BatchConfig, context: Context | None = None
    ) -> Iterator[tuple[BaseBatchFileEncoding, list[str]]]:
        """Batch mode: the records, as RECORD messages would carry them, in files of
        `batch_size` (batches.py); the SDK sends a BATCH message for each file as it
        is yielded. The closing table version follows the last one: a target swaps to
        the version when it arrives, so every file must be named by then.
        """
        # The records as the SDK's own get_batches takes them (state kept, no messages).
        records = self._sync_records(context, write_messages=False)
        if not self._records_pass_through:
            records = (
                message.record
                for record in records
                for message in self._generate_record_messages(record)
            )
        for url in write_batches(records, batch_config, f"{self.tap_name}--{self.name}"):
            yield batch_config.encoding, [url]
        if self.failure is None:
            self._close_version()

    @cached_property
    def _records_pass_through(self) -> bool:
        """True when no stream map, flattening or deselected field can change a record."""
        return (
            len(self.stream_maps) == 1
            and type(self.stream_maps[0]) is SameRecordTransform
            and not self.config.get("flattening_enabled")
            and all(self.mask.values())
        )

    @override
    def _generate_record_messages(
        self, record: Record
    ) -> t.Generator[singer.RecordMessage, None, None]:
        """The SDK's record path, minus per-record work that cannot change anything here.

        With every field selected, no stream maps and no conformance, the SDK would copy
        and walk each record only to return it unchanged (a third of the tap's time).
        """
        if not self._records_pass_through:
            yield from super()._generate_record_messages(record)
            return
        yield singer.RecordMessage(
            stream=self.name,
            record=record,
            version=self._stream_version,
            time_extracted=datetime.datetime.now(datetime.UTC),
        )

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        """Keep fields the schema does not know, and say so once per field."""
        if not self._known_fields.issuperset(row):
            new_fields = set(row) - self._known_fields - self._reported_fields
            if new_fields:
                self._reported_fields |= new_fields
                self.logger.warning(
                    "%s: IGDB returned fields missing from the schema, kept as-is: %s",
                    self.name,
                    ", ".join(sorted(new_fields)),
                )
        return row

    # --- the bookmark's cap ---------------------------------------------------------------

    @property
    def _started_at_seconds(self) -> int:
        """The run's start on the tap's clock (the tap's `initialized_at`, which the SDK
        copies into each stream), in unix seconds."""
        return self._initialized_at // 1000

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> int | None:
        """The highest bookmark this run may save: the run's start time.

        A record stamped later (the source's clock ahead of ours) must not move the
        bookmark past records that will be updated before then; the next run reads it
        again, from the start minus `lookback_seconds`. The SDK writes this before the
        stream's first record; the read lowers it to the newest `updated_at` IGDB held
        when it began (`_read`).
        """
        return self._started_at_seconds if self.replication_key else None

    # --- the starting point --------------------------------------------------------------

    def _starting_point_once(self) -> tuple[int | None, bool]:
        """The starting point, worked out (and logged) once per sync."""
        if self._start is None:
            self._start = self._starting_point(None)
        return self._start

    def _starting_point(self, context: Context | None) -> tuple[int | None, bool]:
        """`(updated_since, from_scratch)`; FULL_TABLE streams always start from scratch.

        The SDK only understands ISO date-time bookmarks (it would hand us `start_date`
        as a string for an integer key), so the integer start is worked out here.
        """
        if not self.replication_key:
            return None, True
        state = self.get_context_state(context)
        bookmark = None
        if state.get("replication_key") == self.replication_key:
            bookmark = state.get("replication_key_value")
        start_date = self.config.get("start_date")
        starts = []
        if bookmark is not None:
            starts.append(unix_seconds(bookmark) - int(self.config["lookback_seconds"]))
        if start_date:
            starts.append(unix_seconds(start_date))
        since = max(0, *starts) if starts else None
        self.logger.info(
            "%s: reading records with updated_at >= %s (bookmark %s, start_date %s)",
            self.name,
            since if since is not None else "(everything)",
            bookmark,
            start_date,
        )
        return since, bookmark is None


__all__ = ["IGDBStream"]
