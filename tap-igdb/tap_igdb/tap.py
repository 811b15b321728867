"""TapIGDB: settings, streams and the run-wide token and request limiter."""

from __future__ import annotations

import re
import typing as t
from functools import cached_property
from urllib.parse import urlparse

import click
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.plugin_base import JSONSchemaValidator

from tap_igdb.auth import TwitchAuthenticator
from tap_igdb.client import MAX_OPEN_REQUESTS, IGDBStream
from tap_igdb.errors import ConfigError, TapIGDBError
from tap_igdb.http import new_session
from tap_igdb.limiter import RequestLimiter
from tap_igdb.plan import ReadSettings
from tap_igdb.reader import RunReader
from tap_igdb.streams import STREAM_TYPES
from tap_igdb.timestamps import unix_seconds
from tap_igdb.writer import BufferedMsgSpecWriter

if t.TYPE_CHECKING:
    import requests
    from jsonschema import ValidationError  # type: ignore[import-untyped]
    from singer_sdk.streams import Stream

# Settings whose values must never appear in a message (the Client-ID is not secret,
# but stays out of errors too).
_UNECHOED_SETTINGS = frozenset({"client_id", "client_secret"})
_URL_SETTINGS = ("api_url", "auth_url")
_INTEGER = re.compile(r"[+-]?\d+")
# Meltano's and the Singer SDK's spellings of true, and their opposites.
_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True}
_BOOLEANS |= {"false": False, "0": False, "no": False, "off": False}


class TapIGDB(Tap):
    """Singer tap for IGDB v4 (Twitch's video-game database)."""

    name = "tap-igdb"
    message_writer_class = BufferedMsgSpecWriter

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
            th.IntegerType(minimum=1, maximum=500),
            default=500,
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
            th.IntegerType(minimum=1, maximum=10),
            default=10,
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
            description="Retries of a failing request (429, 408, 5xx, timeouts, bad JSON).",
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
    ).to_dict()

    @classmethod
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        """Run the CLI; a known failure ends the run with one line and exit code 1."""
        try:
            super().invoke(*args, **kwargs)
        except TapIGDBError as exc:
            raise click.ClickException(str(exc)) from None

    def _reset_state_progress_markers(self) -> None:
        """Fetch the access token first: refused credentials end the run before the
        SDK writes its first message (a STATE that Meltano would store again).

        Overrides the first step of the SDK's `sync_all`, which is final;
        tests/test_faults.py fails if an SDK upgrade stops calling it there.
        """
        self.authenticator.token()
        super()._reset_state_progress_markers()

    def discover_streams(self) -> list[IGDBStream]:
        """Every IGDB endpoint this tap knows; selection happens in the catalog."""
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]

    @property
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
        )

    @cached_property
    def limiter(self) -> RequestLimiter:
        """One limiter for every request of the run, across streams and threads."""
        return RequestLimiter(
            float(self.config["requests_per_second"]),
            int(self.config["max_open_requests"]),
        )

    @cached_property
    def reader(self) -> RunReader:
        """One reader for the run: it requests every selected stream ahead of the SDK."""
        multiquery = bool(self.config["use_multiquery"])
        return RunReader(
            ReadSettings(
                limit=int(self.config["page_size"]),
                pages=int(self.config["multiquery_pages"]) if multiquery else 1,
                multiquery=multiquery,
                workers=int(self.config["max_open_requests"]),
                requests_per_second=float(self.config["requests_per_second"]),
            ),
            self.limiter,
            self.logger,
        )

    @cached_property
    def requests_session(self) -> requests.Session:
        """One HTTP session for the run: one kept-alive connection per worker, and spares."""
        return new_session(pool_size=MAX_OPEN_REQUESTS + 2)

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Fill in defaults and check settings; the first problem becomes one clear line."""
        errors = _parse_typed_strings(self._config, self.config_jsonschema)
        if not errors:
            # The SDK's validator also fills in the schema's defaults.
            validator = JSONSchemaValidator(self.config_jsonschema)
            errors = [_describe(error) for error in validator.iter_errors(self._config)]
        if not errors:
            errors = _semantic_errors(self._config)
        if errors and raise_errors:
            raise ConfigError("; ".join(errors))
        return errors


def _parse_typed_strings(config: dict[str, t.Any], schema: t.Mapping[str, t.Any]) -> list[str]:
    """Turn integer and boolean settings given as strings into their type, in place.

    Meltano passes them through as strings (`kind: string` in
    extract/tap-igdb.meltano.yml): its own cast fails on `abc` with a traceback
    naming no setting, and turns any unknown word into false.
    """
    errors = []
    for name, spec in schema["properties"].items():
        value = config.get(name)
        if not isinstance(value, str):
            continue
        word = value.strip().lower()
        if "integer" in spec["type"]:
            if _INTEGER.fullmatch(word):
                config[name] = int(word)
            else:
                errors.append(f"invalid setting {name}: expected an integer, got {value!r}")
        elif "boolean" in spec["type"]:
            if word in _BOOLEANS:
                config[name] = _BOOLEANS[word]
            else:
                errors.append(f"invalid setting {name}: expected true or false, got {value!r}")
    return errors


def _describe(error: ValidationError) -> str:
    """`page_size: 501 is greater than the maximum of 500` (never echoing credentials)."""
    if error.validator == "required":
        missing = str(error.message).split("'")[1]
        return f"missing required setting {missing}"
    setting = str(error.path[0]) if error.path else "config"
    if setting in _UNECHOED_SETTINGS:
        return f"invalid setting {setting}: must be a non-empty string"
    return f"invalid setting {setting}: {error.message}"


def _semantic_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """What the JSON schema cannot say: URL shape and a parseable start date."""
    errors = []
    for setting in _URL_SETTINGS:
        url = urlparse(str(config.get(setting, "")))
        if url.scheme not in {"http", "https"} or not url.netloc:
            errors.append(
                f"invalid setting {setting}: expected an http(s) URL, got {url.geturl()!r}"
            )
    if config.get("start_date"):
        try:
            unix_seconds(config["start_date"])
        except ValueError:
            errors.append(
                f"invalid setting start_date: expected an ISO 8601 date-time, "
                f"got {config['start_date']!r}"
            )
    if not str(config.get("client_id", "")).strip():
        errors.append("invalid setting client_id: must be a non-empty string")
    if not str(config.get("client_secret", "")).strip():
        errors.append("invalid setting client_secret: must be a non-empty string")
    return errors


if __name__ == "__main__":
    TapIGDB.cli()
