"""target-s3: writes the IGDB raw layer (JSONL + manifests) to S3 or a local directory."""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import sys
import typing as t
from pathlib import Path

import msgspec
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.exceptions import ConfigValidationError, InvalidRecord
from singer_sdk.helpers.capabilities import PluginCapabilities, TargetCapabilities
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.target_base import Target
from typing_extensions import override

from target_s3 import lake
from target_s3.batch_input import BatchFiles, BatchInputError, BatchMessage
from target_s3.lake import Layout
from target_s3.lake_lock import LakeLock
from target_s3.manifest_store import ManifestConflictError, ManifestStore
from target_s3.settings import Settings, check_config, config_from_environment
from target_s3.sinks import RawLayerSink, utc_now
from target_s3.storage import S3Settings, StorageError, make_s3_client, open_storage
from target_s3.vacuum import VacuumResult, vacuum

MIB = 1024 * 1024


class RawJSONReader(MsgSpecReader):
    """msgspec reader that keeps floats as floats (the SDK's parses them to Decimal)."""

    _decoder: msgspec.json.Decoder[dict[str, t.Any]] = msgspec.json.Decoder(dict[str, t.Any])

    @override
    def deserialize_json(self, line: str) -> dict[str, t.Any]:
        try:
            return self._decoder.decode(line)
        except msgspec.DecodeError as exc:
            # Never echo the line: it may be huge, and a record is not a log message.
            raise InvalidInputLine(f"input line is not valid JSON: {exc}") from None


class TargetS3(Target):
    """Singer target for the IGDB raw layer (docs/contracts.md, section 2)."""

    name = "target-s3"
    default_sink_class = RawLayerSink
    message_reader_class = RawJSONReader
    # Records are written exactly as the tap sent them: no stream maps or flattening.
    capabilities: t.ClassVar[list[t.Any]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.BATCH,
        PluginCapabilities.STRUCTURED_LOGGING,
        TargetCapabilities.VALIDATE_RECORDS,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "bucket",
            th.StringType,
            title="S3 bucket",
            description="Bucket of the lake. Empty: write to `local_path` instead.",
            default="",
        ),
        th.Property(
            "local_path",
            th.StringType,
            title="Local lake directory",
            description="Lake root on local disk, used when `bucket` is empty.",
            default="output/lake",
        ),
        th.Property(
            "prefix",
            th.StringType,
            title="Key prefix",
            description="Top-level folder of the raw layer inside the lake.",
            default=lake.DEFAULT_PREFIX,
        ),
        th.Property(
            "endpoint_url",
            th.StringType,
            title="S3 endpoint URL",
            description="Custom S3 endpoint (SeaweedFS, MinIO). Empty: AWS.",
        ),
        th.Property(
            "region",
            th.StringType,
            title="AWS region",
            description="Region of the bucket. Empty: the AWS configuration's default.",
        ),
        th.Property(
            "aws_access_key_id",
            th.StringType,
            title="AWS access key ID",
            description="Empty: the standard AWS credential chain.",
            secret=True,
        ),
        th.Property(
            "aws_secret_access_key",
            th.StringType,
            title="AWS secret access key",
            description="Empty: the standard AWS credential chain.",
            secret=True,
        ),
        th.Property(
            "aws_session_token",
            th.StringType,
            title="AWS session token",
            description="For temporary credentials.",
            secret=True,
        ),
        th.Property(
            "compression",
            th.StringType,
            title="Compression",
            description="`gzip` (default: ~3x smaller files, read natively by DuckDB) or `none`.",
            default="gzip",
            allowed_values=["gzip", "none"],
        ),
        th.Property(
            "batch_size_records",
            th.IntegerType(minimum=1),
            title="Records per file",
            description="A file is closed after this many records.",
            default=50_000,
        ),
        th.Property(
            "batch_size_bytes",
            th.IntegerType(minimum=1),
            title="Bytes per file",
            description="A file is closed after this many uncompressed bytes.",
            default=64 * MIB,
        ),
        th.Property(
            "validate_records",
            th.BooleanType,
            title="Validate records",
            description="Validate each record against its JSON schema (slow; the tap "
            "is the contract).",
            default=False,
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0),
            title="S3 retries",
            description="Retries of a throttled or failed S3 call, with backoff.",
            default=5,
        ),
        th.Property(
            "lock_wait_seconds",
            th.IntegerType(minimum=0, maximum=86_400),
            title="Lake lock wait",
            description="How long to wait for another run's lake lock before failing. "
            "0: fail at once, naming the holder.",
            default=0,
        ),
        th.Property(
            "grace_days",
            th.IntegerType(minimum=1, maximum=365),
            title="Grace after removal (days)",
            description="How long a file removed from its table (by a full refresh) stays "
            "readable before the vacuum deletes it, counted from its removal; unlisted "
            "leftovers of crashed runs are deleted once this old. The vacuum runs at the end "
            "of every run and as the `vacuum` command.",
            default=7,
        ),
        th.Property(
            "lock_ttl_seconds",
            # Renewed every third of it: at least every 10 s.
            th.IntegerType(minimum=30, maximum=86_400),
            title="Lake lock lease",
            description="Lifetime of the lake lock's lease, renewed every third of it while "
            "the target runs; a crashed run's lock is free after this long.",
            default=300,
        ),
    ).to_dict()

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        # Per stream with an open version: its bookmark when the version opened.
        self._held_bookmarks: dict[str, t.Any] = {}
        # The whole state when the first open version opened, for states without
        # per-stream bookmarks.
        self._state_before_versions: dict[str, t.Any] | None = None
        self._emitted_state: dict[str, t.Any] | None = None
        self.settings = Settings.from_config(self.config)
        self.storage = open_storage(self.config)
        self.lake_lock = LakeLock(
            self.storage,
            lake.lock_key(self.settings.prefix),
            ttl_seconds=self.settings.lock_ttl_seconds,
            wait_seconds=self.settings.lock_wait_seconds,
        )
        self.manifests = ManifestStore(
            self.storage, lambda: lake.manifest_time(utc_now()), guard=self.lake_lock.ensure_held
        )
        # BATCH files on S3 are read with the target's own S3 settings and credentials.
        self.batch_files = BatchFiles(lambda: make_s3_client(S3Settings.from_config(self.config)))
        self.storage.check(lake.probe_key(self.settings.prefix))

    # Settings and storage ------------------------------------------------

    @classmethod
    @override
    def append_builtin_config(cls, config_jsonschema: dict[str, t.Any]) -> None:
        """Add none of the SDK's built-in settings: `config_jsonschema` is every setting.

        The SDK would add `load_method`, `add_record_metadata`, `batch_size_rows`
        (every target), `batch_config` (the BATCH capability) and
        `process_activate_version_messages`: none can be honoured by a raw layer
        that keeps records as sent, so none is advertised, and the settings pass
        refuses them (target_s3.settings.UNSUPPORTED).
        """
        _ = config_jsonschema

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """The settings pass of target_s3.settings, which runs the SDK's schema check.

        In place of the SDK's own: one line per bad setting in one style, never
        a secret. Overrides an SDK internal; the CLI tests in tests/test_settings.py
        fail if an SDK upgrade stops calling it.
        """
        schema = self.config_jsonschema
        self.append_builtin_config(schema)  # as the SDK's check does
        errors = check_config(self._config, schema)
        if errors and raise_errors:
            raise ConfigValidationError(errors[0], errors=errors, schema=schema)
        return errors

    # Run ------------------------------------------------------------------

    @override
    def process_endofpipe(self) -> None:
        """Everything is listed: vacuum, still holding the lake, then let the next writer in.

        A failure releases the lake at exit, without a vacuum.
        """
        try:
            super().process_endofpipe()
            if self.lake_lock.held:  # the lake was opened (a SCHEMA came)
                self._vacuum_after_the_run()
        finally:
            self.lake_lock.release()

    def _vacuum_after_the_run(self) -> None:
        """The vacuum, as housekeeping: its failure never fails a run that loaded its data."""
        try:
            result = self.vacuum()
        except (StorageError, ManifestConflictError, OSError) as exc:
            self.logger.warning(
                "target-s3: the vacuum failed (%s); everything was loaded and listed, "
                "nothing listed was touched; the next run, or the vacuum command, retries",
                exc,
            )
            return
        self.logger.info("%s", self.vacuum_summary(result))

    def vacuum(self) -> VacuumResult:
        """Vacuum this target's lake now (target_s3.vacuum); the lake lock must be held."""
        return vacuum(
            self.storage,
            self.manifests,
            self.settings.prefix,
            lock=self.lake_lock,
            now=utc_now(),
            grace=dt.timedelta(days=self.settings.grace_days),
        )

    def vacuum_summary(self, result: VacuumResult) -> str:
        where = self.storage.describe(lake.layer_folder(self.settings.prefix))
        return result.summary(where, dt.timedelta(days=self.settings.grace_days))

    # Messages ------------------------------------------------------------

    @override
    def _process_schema_message(self, message_dict: dict[str, t.Any]) -> None:
        """A new sink when the stream is new or its schema or key properties changed.

        As the SDK's, except that the sink is created here with its layout,
        which only the SCHEMA message carries (its bookmark_properties).
        """
        # The first message of a run: take the lake before reading or writing it.
        self.lake_lock.acquire()
        self._assert_line_requires(message_dict, requires={"stream", "schema"})
        self._assert_line_requires(message_dict["schema"], requires={"properties"})
        stream_name = message_dict["stream"]
        schema = message_dict["schema"]
        key_properties = message_dict.get("key_properties")
        previous = t.cast("RawLayerSink | None", self._sinks_active.get(stream_name))
        if (
            previous is not None
            and previous.original_schema == schema
            and previous.key_properties == list(key_properties or [])
        ):
            return
        # The SDK's other message handlers find a stream's sink through its map.
        self.mapper.register_raw_stream_schema(stream_name, schema, key_properties)
        if previous is not None:
            self.logger.info("Schema or key properties for '%s' changed: new sink", stream_name)
            self._sinks_to_clear.append(self._sinks_active.pop(stream_name))
        current = self._add_raw_layer_sink(
            stream_name,
            schema,
            key_properties,
            lake.layout_for(message_dict.get("bookmark_properties")),
        )
        if previous is not None and previous.open_version is not None:
            # A schema change mid-version must not forget the open version.
            self.drain_one(previous)
            current.adopt_version(previous)

    def _add_raw_layer_sink(
        self,
        stream_name: str,
        schema: dict[str, t.Any],
        key_properties: t.Sequence[str] | None,
        layout: Layout,
    ) -> RawLayerSink:
        """The SDK's `add_sink`, giving the sink what it writes with (as SQLTarget's
        `add_sqlsink` gives its sinks their connector)."""
        sink = RawLayerSink(
            self,
            stream_name,
            schema,
            key_properties,
            storage=self.storage,
            manifests=self.manifests,
            settings=self.settings,
            layout=layout,
        )
        sink.setup()
        self._sinks_active[stream_name] = sink
        return sink

    @override
    def _process_record_message(self, message_dict: dict[str, t.Any]) -> None:
        """Write the record as the tap sent it, skipping the SDK's per-record work.

        The SDK's version copies each record, runs stream maps, adds `_sdc_*`
        columns the contract does not have and parses date-time strings into
        datetimes: it changes values and is ~25% slower (53k against 71k
        records/s, measured). We keep its checks by calling its sink internals
        (`_validator`, `_singer_validate_message`): the SDK standard tests
        (missing key property) and test_validate_records_* fail if an upgrade
        changes them.
        """
        self._assert_line_requires(message_dict, requires={"stream", "record"})
        sink = self._raw_layer_sink(message_dict["stream"])
        self._write_record(sink, message_dict["record"], message_dict.get("time_extracted"))

    @override
    def _process_batch_message(self, message_dict: dict[str, t.Any]) -> None:
        """Each record of the BATCH files takes the path of a RECORD message's record.

        In place of the SDK's, which reads each file whole into memory and hands
        its records to `process_batch`. Files carry no extraction time: the
        records are stamped with the time the target reads the message.
        """
        self._assert_line_requires(message_dict, requires={"stream", "encoding", "manifest"})
        batch = BatchMessage.parse(message_dict)  # refuses what it cannot read, at once
        sink = self._raw_layer_sink(batch.stream)
        extracted_at = utc_now().isoformat()
        for record in self.batch_files.records(batch):
            self._write_record(sink, record, extracted_at)

    def _raw_layer_sink(self, stream_name: str) -> RawLayerSink:
        self._assert_sink_exists(stream_name)
        return t.cast("RawLayerSink", self._sinks_active[stream_name])

    def _write_record(
        self, sink: RawLayerSink, record: dict[str, t.Any], extracted_at: str | None
    ) -> None:
        if sink._validator is not None:
            _validate(sink, record)
        sink._singer_validate_message(record)
        sink.write_message(record, extracted_at)
        sink.record_counter_metric.increment()
        if sink.is_full:
            # Drain everything, not just this sink, so the state can move forward
            # with every file: a crash then re-reads at most one batch per stream.
            self.drain_all()
        else:
            self._handle_max_record_age()

    @override
    def _process_activate_version_message(self, message_dict: dict[str, t.Any]) -> None:
        self._assert_line_requires(message_dict, requires={"stream", "version"})
        stream_name = message_dict["stream"]
        sink = self._raw_layer_sink(stream_name)
        self.drain_one(sink)  # buffered records belong to the version before this message
        sink.activate_version(int(message_dict["version"]))
        if sink.open_version is not None:
            self._hold_bookmark(stream_name)
        elif stream_name in self._held_bookmarks:
            del self._held_bookmarks[stream_name]
            self.drain_all()  # every record of the stream is listed: release its bookmark

    def _hold_bookmark(self, stream_name: str) -> None:
        """Keep the stream's bookmark as it is now, until its version completes."""
        if stream_name in self._held_bookmarks:
            return  # a version replacing an unfinished one: the older bookmark stays
        if not self._held_bookmarks:
            self._state_before_versions = copy.deepcopy(self._latest_state)
        bookmarks = (self._latest_state or {}).get("bookmarks")
        entry = bookmarks.get(stream_name, _ABSENT) if isinstance(bookmarks, dict) else _ABSENT
        self._held_bookmarks[stream_name] = entry if entry is _ABSENT else copy.deepcopy(entry)

    def _safe_state(self) -> dict[str, t.Any] | None:
        """The newest state in which every stream's bookmark points into listed files.

        A stream with an open version keeps the bookmark it had when the version
        opened (none if it had none): its later bookmarks point into unlisted
        files. Every other stream's bookmark is the newest received, since
        `drain_all` has listed all their records before calling this.
        """
        state = copy.deepcopy(self._latest_state)
        if state is None or not self._held_bookmarks:
            return state
        bookmarks = state.get("bookmarks")
        if not isinstance(bookmarks, dict):
            return self._state_before_versions  # no per-stream bookmarks to go by
        for stream_name, entry in self._held_bookmarks.items():
            if entry is _ABSENT:
                bookmarks.pop(stream_name, None)
            else:
                bookmarks[stream_name] = copy.deepcopy(entry)
        return state

    @override
    def _write_state_message(self, state: dict[str, t.Any]) -> None:
        """Emit only state whose records are all listed (drain_all calls this last)."""
        _ = state
        safe = self._safe_state()
        if safe is None or safe == self._emitted_state:
            return
        self._emitted_state = copy.deepcopy(safe)
        super()._write_state_message(safe)

    # CLI -----------------------------------------------------------------

    @classmethod
    @override
    def invoke(cls, **kwargs: t.Any) -> None:
        try:
            super().invoke(**kwargs)
        except ConfigValidationError as exc:
            for error in exc.errors:  # one line per bad setting, without the SDK's summary
                cls.logger.error("target-s3: %s", error)  # noqa: TRY400 - no traceback
            sys.exit(1)
        except (StorageError, InvalidInputLine, InvalidRecordError, BatchInputError) as exc:
            cls.logger.error("target-s3: %s", exc)  # noqa: TRY400 - one line, no traceback
            sys.exit(1)


_ABSENT: t.Final = object()  # a stream that had no bookmark when its version opened


def vacuum_main(argv: t.Sequence[str] | None = None) -> int:
    """`target-s3-vacuum`: the vacuum of the lake the target's settings name, now.

    The settings come from `--config` or, as `meltano invoke target-s3:vacuum`
    passes them, from the TARGET_S3_* variables; they go through the target's
    settings pass. The lake lock is taken first (waiting up to
    `lock_wait_seconds`), so a running target's files are never touched.
    """
    parser = argparse.ArgumentParser(
        prog="target-s3-vacuum",
        description="Delete raw-layer files removed from their table more than grace_days "
        "ago, and unlisted leftovers of crashed runs as old (holds the lake lock).",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="target-s3 config JSON; without it, the TARGET_S3_* variables Meltano exports",
    )
    args = parser.parse_args(argv)
    try:
        config = (
            json.loads(args.config.read_text())
            if args.config
            else config_from_environment(os.environ)
        )
    except (OSError, json.JSONDecodeError) as exc:
        print(f"target-s3-vacuum: cannot read config {args.config}: {exc}", file=sys.stderr)
        return 2
    try:
        target = TargetS3(config=config, validate_config=True)
        target.lake_lock.acquire()
        try:
            result = target.vacuum()
        finally:
            target.lake_lock.release()
    except ConfigValidationError as exc:
        for error in exc.errors:
            print(f"target-s3-vacuum: {error}", file=sys.stderr)
        return 1
    except (StorageError, ManifestConflictError) as exc:
        print(f"target-s3-vacuum: {exc}", file=sys.stderr)
        return 1
    print(target.vacuum_summary(result))
    for key in result.deleted:
        print(f"deleted {target.storage.describe(key)}")
    return 0


class InvalidRecordError(Exception):
    """A record does not match its stream's schema (with `validate_records` on)."""


def _validate(sink: RawLayerSink, record: dict[str, t.Any]) -> None:
    assert sink._validator is not None
    try:
        sink._validator.validate(record)
    except InvalidRecord as exc:
        # Name the stream and the field, never echo the record itself.
        cause = exc.__cause__
        where = "/".join(str(part) for part in getattr(cause, "absolute_path", []))
        raise InvalidRecordError(
            f"stream '{sink.stream_name}': record field '{where}' does not match the "
            f"schema: {exc.error_message}"
        ) from None
