"""TapIGDB: the settings, the streams, and the run's parts they share.

The tap declares the settings (checked by settings.py), lists the streams
(streams.py), and builds what the whole run shares: one token (auth.py), one
request limiter (limiter.py), one transport (transport.py) and one reader
(reader.py), which it hands to the streams it creates. When the sync's first stream
asks for the reader, the tap opens the reads of every selected stream, in sync
order, so later streams are read ahead.
"""

from __future__ import annotations

import time
import typing as t
from functools import cached_property

import click
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import PluginCapabilities, TapCapabilities
from typing_extensions import override

from tap_igdb.apicalypse import MAX_LIMIT, MAX_MULTIQUERY_BLOCKS
from tap_igdb.auth import TwitchAuthenticator
from tap_igdb.client import IGDBStream
from tap_igdb.errors import ConfigError, StreamsFailedError, TapIGDBError
from tap_igdb.limiter import RequestLimiter
from tap_igdb.reader import RunReader
from tap_igdb.settings import MAX_OPEN_REQUESTS, ReadSettings, RetrySettings, settings_errors
from tap_igdb.streams import STREAM_TYPES
from tap_igdb.transport import IGDBTransport
from tap_igdb.writer import BufferedMsgSpecWriter

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk.helpers.capabilities import CapabilitiesEnum
    from singer_sdk.streams import Stream


class TapIGDB(Tap):
    """Singer tap for IGDB v4 (Twitch's video-game database)."""

    name = "tap-igdb"
    message_writer_class = BufferedMsgSpecWriter
    # What the tap advertises, each tested (tests/test_capabilities.py). The settings of
    # stream maps, flattening and batch mode come with them (append_builtin_config).
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        TapCapabilities.ACTIVATE_VERSION,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.BATCH,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "client_id",
            th.StringType(min_length=1),
            required=True,
            title="Client ID",
            description="Twitch application Client ID (sent as the `Client-ID` header).",
        ),
        th.Property(
            "client_secret",
            th.StringType(min_length=1),
            required=True,
            secret=True,
            title="Client Secret",
            description="Twitch application secret, used only to fetch an access token.",
        ),
        th.Property(
            "api_url",
            th.StringType(min_length=1),
            default="https://api.igdb.com/v4",
            title="API URL",
            description="Base URL of the IGDB v4 API (point it at a local emulator in tests).",
        ),
        th.Property(
            "auth_url",
            th.StringType(min_length=1),
            default="https://id.twitch.tv/oauth2/token",
            title="Auth URL",
            description="Twitch OAuth2 token endpoint (client-credentials grant).",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description=(
                "ISO 8601 date-time: lower bound on `updated_at` for the first run of "
                "incremental streams. Empty: extract everything."
            ),
        ),
        th.Property(
            "lookback_seconds",
            th.IntegerType(minimum=0),
            default=3600,
            title="Lookback seconds",
            description="Clock-skew margin subtracted from each bookmark before querying.",
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=MAX_LIMIT),
            default=MAX_LIMIT,
            title="Page size",
            description="Records per page (IGDB's maximum is 500).",
        ),
        th.Property(
            "requests_per_second",
            th.IntegerType(minimum=1, maximum=100),
            default=4,
            title="Requests per second",
            description=(
                "Requests started in any sliding second, for the whole run. IGDB allows 4; "
                "raise it only for a server that allows more."
            ),
        ),
        th.Property(
            "max_open_requests",
            th.IntegerType(minimum=1, maximum=MAX_OPEN_REQUESTS),
            default=MAX_OPEN_REQUESTS,
            title="Max open requests",
            description="Requests in flight at once (IGDB allows 8); also the worker count.",
        ),
        th.Property(
            "use_multiquery",
            th.BooleanType,
            default=True,
            title="Use multiquery",
            description="Fetch several pages per request through /v4/multiquery.",
        ),
        th.Property(
            "multiquery_pages",
            th.IntegerType(minimum=1, maximum=MAX_MULTIQUERY_BLOCKS),
            default=MAX_MULTIQUERY_BLOCKS,
            title="Multiquery pages",
            description="Pages per multiquery request (IGDB allows 10 queries).",
        ),
        th.Property(
            "request_timeout",
            th.IntegerType(minimum=1, maximum=600),
            default=60,
            title="Request timeout",
            description="Seconds to wait for IGDB before retrying a request.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0, maximum=20),
            default=8,
            title="Max retries",
            description=(
                "Retries of a failing API or token request (429, 408, 5xx, timeouts, bad JSON)."
            ),
        ),
        th.Property(
            "backoff_base_ms",
            th.IntegerType(minimum=1, maximum=60_000),
            default=1000,
            title="Backoff base milliseconds",
            description="First retry wait in milliseconds; doubles on each retry (with jitter).",
        ),
        th.Property(
            "backoff_max_ms",
            th.IntegerType(minimum=1, maximum=600_000),
            default=60_000,
            title="Backoff max milliseconds",
            description="Longest wait between two retries, in milliseconds.",
        ),
        th.Property(
            "progress_interval_seconds",
            th.IntegerType(minimum=1),
            default=30,
            title="Progress interval seconds",
            description="Seconds between progress lines (records, records/s, ETA) per stream.",
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            default=True,
            title="Emit ACTIVATE_VERSION messages",
            description=(
                "Announce a table version before and after every stream read from scratch "
                "(FULL_TABLE streams, and INCREMENTAL streams without a bookmark)."
            ),
        ),
        # The SDK declares these two without bounds; a negative depth or length is
        # refused here rather than met deep inside the flattening.
        th.Property(
            "flattening_max_depth",
            th.IntegerType(minimum=0),
            title="Max flattening depth",
            description=(
                "How many levels of nested objects `flattening_enabled` flattens into "
                "columns of their own (0: none)."
            ),
        ),
        th.Property(
            "flattening_max_key_length",
            th.IntegerType(minimum=1),
            title="Max flattened key length",
            description="The longest a flattened column name may be; longer ones are shortened.",
        ),
        # The SDK's own declaration of this setting allows parquet and any storage; the
        # tap writes what it declares here (batches.py).
        th.Property(
            "batch_config",
            th.ObjectType(
                th.Property(
                    "encoding",
                    th.ObjectType(
                        th.Property(
                            "format",
                            th.StringType(allowed_values=["jsonl"]),
                            required=True,
                            title="Batch file format",
                            description="`jsonl`: one record per line, as a RECORD carries it.",
                        ),
                        th.Property(
                            "compression",
                            th.StringType(allowed_values=["gzip", "none"]),
                            required=True,
                            title="Batch file compression",
                            description="`gzip` (`.jsonl.gz` files) or `none` (`.jsonl`).",
                        ),
                        additional_properties=False,
                    ),
                    required=True,
                    title="Batch encoding",
                ),
                th.Property(
                    "storage",
                    th.ObjectType(
                        th.Property(
                            "root",
                            th.StringType(min_length=1),
                            required=True,
                            title="Batch storage root",
                            description=(
                                "`file://` URL of the directory the batch files are written "
                                "to (created if missing); the target must be able to read it."
                            ),
                        ),
                        th.Property(
                            "prefix",
                            th.StringType,
                            title="Batch file prefix",
                            description="Prefix of every batch file's name.",
                        ),
                        additional_properties=False,
                    ),
                    required=True,
                    title="Batch storage",
                ),
                th.Property(
                    "batch_size",
                    th.IntegerType(minimum=1, maximum=1_000_000),
                    title="Records per batch file",
                    description="Records per batch file (10,000 when not set).",
                ),
                additional_properties=False,
            ),
            title="Batch configuration",
            description=(
                "Write each stream's records to batch files and send BATCH messages "
                "instead of RECORD messages. Not set: RECORD messages."
            ),
        ),
    ).to_dict()

    def __init__(self, *, clock: Callable[[], float] = time.time, **kwargs: t.Any) -> None:
        """`clock` is the tap's notion of now in unix seconds (tests set it to the
        emulator's simulated time). It is read once, here: the run's start time, which
        caps every bookmark (client.py). The SDK's own arguments pass through."""
        # Before the SDK's constructor: it builds the streams, which copy the start.
        self._started_at = clock()
        super().__init__(**kwargs)

    @property
    @override
    def initialized_at(self) -> int:
        """The run's start on the tap's clock, in epoch milliseconds."""
        return int(self._started_at * 1000)

    @classmethod
    @override
    def append_builtin_config(cls, config_jsonschema: dict[str, t.Any]) -> None:
        """The SDK's settings of the capabilities above, without `faker_config`: Faker
        is not installed (IGDB's records hold no personal data to mask), so a faker
        setting would be accepted and ignored (settings.py refuses it instead)."""
        super().append_builtin_config(config_jsonschema)
        config_jsonschema["properties"].pop("faker_config", None)

    @classmethod
    @override
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        """Run the CLI; a known failure ends the run with one line and exit code 1."""
        try:
            super().invoke(*args, **kwargs)
        except TapIGDBError as exc:
            raise click.ClickException(str(exc)) from None

    # `sync_all` is final in the SDK (typing.final, not enforced): extended here, never
    # replaced, for what only the whole run can do, before and after the SDK's sync.
    @override  # type: ignore[misc]
    def sync_all(self) -> None:
        """Sync every selected stream; the run fails at its end if any stream failed.

        First the access token: refused credentials end the run before the SDK writes
        its first message (a STATE that Meltano would store again). A stream whose read
        fails after its retries is logged and skipped while the others are read
        (client.py); the run then ends with one line naming every failed stream.
        """
        self._check_batch_maps()
        self.authenticator.token()
        try:
            super().sync_all()
        finally:
            if "reader" in self.__dict__:  # built by the first stream that synced
                self.reader.close()
        synced = [s for s in self.streams.values() if isinstance(s, IGDBStream) and s.selected]
        failures = {s.name: s.failure for s in synced if s.failure is not None}
        if failures:
            raise StreamsFailedError(failures, streams=len(synced))

    def _check_batch_maps(self) -> None:
        """In batch mode a stream's files serve one stream: a stream map that makes one
        into several (`__source__` copies) is refused before any request."""
        if not self.config.get("batch_config"):
            return
        for stream in self.streams.values():
            aliases = [m.stream_alias for m in stream.stream_maps]
            if stream.selected and len(aliases) > 1:
                raise ConfigError(
                    f"invalid settings: batch_config with stream_maps that make {stream.name} "
                    f"into several streams ({', '.join(aliases)}): one set of batch files "
                    "cannot be both"
                )

    @override
    def discover_streams(self) -> list[IGDBStream]:
        """Every IGDB endpoint this tap knows; selection happens in the catalog."""
        return [stream_type(tap=self, reader=self._started_reader) for stream_type in STREAM_TYPES]

    @property
    @override
    def streams(self) -> dict[str, Stream]:
        """Dimensions before facts (the seed design's order): the FULL_TABLE lookups
        first, then the INCREMENTAL entities, each group by name as the SDK sorts them."""
        by_name = super().streams
        return dict(sorted(by_name.items(), key=lambda item: bool(item[1].replication_key)))

    @cached_property
    def authenticator(self) -> TwitchAuthenticator:
        """One token holder for the whole run (IGDB allows 25 live tokens per app)."""
        return TwitchAuthenticator(
            client_id=self.config["client_id"],
            client_secret=self.config["client_secret"],
            auth_url=self.config["auth_url"],
            timeout=float(self.config["request_timeout"]),
            retries=RetrySettings.from_config(self.config),
        )

    @cached_property
    def limiter(self) -> RequestLimiter:
        """One limiter for every request of the run, across streams and threads."""
        return RequestLimiter(
            float(self.config["requests_per_second"]),
            int(self.config["max_open_requests"]),
        )

    @cached_property
    def transport(self) -> IGDBTransport:
        """One transport for every request of the run: one session, token and limiter."""
        return IGDBTransport(
            api_url=str(self.config["api_url"]),
            use_multiquery=bool(self.config["use_multiquery"]),
            request_timeout=int(self.config["request_timeout"]),
            retries=RetrySettings.from_config(self.config),
            authenticator=self.authenticator,
            limiter=self.limiter,
            # What the SDK's REST streams send.
            user_agent=self.config.get("user_agent", f"singer-sdk/{self.get_sdk_version()}"),
            logger=self.logger,
        )

    @cached_property
    def reader(self) -> RunReader:
        """One reader for the run: it requests every selected stream ahead of the SDK.

        Built on first use, as are the token, limiter and transport: discovery builds
        the streams, and must work with settings a run would refuse."""
        return RunReader(
            ReadSettings.from_config(self.config), self.limiter, self.transport, self.logger
        )

    def _started_reader(self) -> RunReader:
        """The reader, as the streams get it: when a sync's first stream asks (nothing
        is being read yet), the reads of every selected stream open, in sync order.

        Not before the first stream syncs: a read starts by working out the stream's
        starting point, which creates its entry in the state the SDK writes first.
        """
        if not self.reader.reading:
            self.reader.open(
                [s for s in self.streams.values() if isinstance(s, IGDBStream) and s.selected]
            )
        return self.reader

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Parse, fill in defaults and check the settings (settings.py); the problems
        become one clear line."""
        schema = self.config_jsonschema
        self.append_builtin_config(schema)  # the SDK's settings are checked too
        errors = settings_errors(self._config, schema)
        if errors and raise_errors:
            raise ConfigError("; ".join(errors))
        return errors


if __name__ == "__main__":
    TapIGDB.cli()
