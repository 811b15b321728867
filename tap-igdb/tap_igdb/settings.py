"""The settings pass, and the typed settings the run's parts are built from.

The settings themselves are declared once, in `TapIGDB.config_jsonschema` (tap.py).
They are checked in one pass, in this order, each problem one line naming the
setting, never echoing `client_id` or `client_secret`:

1. parse: Meltano passes integer, boolean and object settings through as strings
   (`kind: string` in extract/tap-igdb.meltano.yml): its own cast fails on `abc`
   or `{oops` with a traceback naming no setting, and reads any unknown word as
   false;
2. the SDK's JSON-schema validator: types and bounds, as the schema declares them
   (it also fills in the defaults);
3. what a JSON schema cannot say: URL shape, a parseable `start_date`, credentials
   that are not blank, a `file://` batch storage root, a flattening depth when
   flattening is on, and no `faker_config` (not advertised: Faker is not installed).
"""

from __future__ import annotations

import json
import re
import typing as t
from dataclasses import dataclass
from urllib.parse import urlparse

from singer_sdk.plugin_base import JSONSchemaValidator

from tap_igdb.apicalypse import MAX_MULTIQUERY_BLOCKS
from tap_igdb.timestamps import unix_seconds

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from jsonschema import ValidationError  # type: ignore[import-untyped]

BOOLEAN_WORDS: dict[str, bool] = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}
"""The project's boolean vocabulary, read case-insensitively once stripped. target-s3
and the dbt plugin keep their own copies (plugins share no code); a root test checks
that they agree."""

MAX_OPEN_REQUESTS = 8
"""IGDB's cap on requests in flight (the `max_open_requests` setting's maximum)."""

# Settings whose values must never appear in a message (the Client-ID is not secret,
# but stays out of errors too).
_UNECHOED_SETTINGS = frozenset({"client_id", "client_secret"})
_URL_SETTINGS = ("api_url", "auth_url")
_INTEGER = re.compile(r"[+-]?\d+")


def settings_errors(config: dict[str, t.Any], schema: Mapping[str, t.Any]) -> list[str]:
    """Parse, validate and cross-check `config` in place; one line per problem found
    by the first step that finds any."""
    errors = _parse_strings(config, schema)
    if not errors:
        validator = JSONSchemaValidator(dict(schema))
        errors = [_describe(error) for error in validator.iter_errors(config)]
    if not errors:
        errors = _semantic_errors(config)
    return errors


@dataclass(frozen=True)
class ReadSettings:
    """What the reader and the plan need: paging and concurrency."""

    page_size: int
    multiquery_pages: int
    use_multiquery: bool
    max_open_requests: int
    """Also the number of reader threads."""
    requests_per_second: float

    @classmethod
    def from_config(cls, config: Mapping[str, t.Any]) -> ReadSettings:
        return cls(
            page_size=int(config["page_size"]),
            multiquery_pages=int(config["multiquery_pages"]),
            use_multiquery=bool(config["use_multiquery"]),
            max_open_requests=int(config["max_open_requests"]),
            requests_per_second=float(config["requests_per_second"]),
        )

    @property
    def pages_per_request(self) -> int:
        """`multiquery_pages`, or 1 without multiquery."""
        return self.multiquery_pages if self.use_multiquery else 1

    @property
    def blocks_per_request(self) -> int:
        """Named queries one request may carry (count, probes, pages)."""
        return MAX_MULTIQUERY_BLOCKS if self.use_multiquery else 1

    @property
    def records_per_request(self) -> int:
        """Records a full request returns."""
        return self.page_size * self.pages_per_request


@dataclass(frozen=True)
class RetrySettings:
    """How every request of the run, API or token, retries a transient failure."""

    max_retries: int
    backoff_base_ms: int
    backoff_max_ms: int

    @classmethod
    def from_config(cls, config: Mapping[str, t.Any]) -> RetrySettings:
        return cls(
            max_retries=int(config["max_retries"]),
            backoff_base_ms=int(config["backoff_base_ms"]),
            backoff_max_ms=int(config["backoff_max_ms"]),
        )

    @property
    def max_attempts(self) -> int:
        """The first attempt and `max_retries` retries."""
        return self.max_retries + 1


def _parse_strings(config: dict[str, t.Any], schema: Mapping[str, t.Any]) -> list[str]:
    """Integer, boolean and object settings given as strings, turned into their type
    in place."""
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
            if word in BOOLEAN_WORDS:
                config[name] = BOOLEAN_WORDS[word]
            else:
                errors.append(f"invalid setting {name}: expected true or false, got {value!r}")
        elif "object" in spec["type"]:
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict):
                config[name] = parsed
            else:
                errors.append(f"invalid setting {name}: expected a JSON object, got {value!r}")
    return errors


def _describe(error: ValidationError) -> str:
    """`page_size: 501 is greater than the maximum of 500` (never echoing credentials);
    a nested setting by its path, `batch_config.encoding.format`."""
    path = [str(part) for part in error.path]
    if error.validator == "required":
        missing = str(error.message).split("'")[1]
        return f"missing required setting {'.'.join([*path, missing])}"
    setting = ".".join(path) or "config"
    if setting in _UNECHOED_SETTINGS:
        return f"invalid setting {setting}: must be a non-empty string"
    return f"invalid setting {setting}: {error.message}"


def _semantic_errors(config: Mapping[str, t.Any]) -> list[str]:
    """What the JSON schema cannot say: URL shape, a parseable start date, credentials
    that are more than spaces."""
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
    for setting in sorted(_UNECHOED_SETTINGS):
        if not str(config.get(setting, "")).strip():
            errors.append(f"invalid setting {setting}: must be a non-empty string")
    root = (config.get("batch_config") or {}).get("storage", {}).get("root")
    if root is not None and urlparse(str(root)).scheme != "file":
        errors.append(
            f"invalid setting batch_config.storage.root: expected a file:// URL, got "
            f"{root!r} (other storage needs an fsspec driver the tap does not install)"
        )
    if config.get("flattening_enabled") and config.get("flattening_max_depth") is None:
        errors.append(
            "invalid setting flattening_max_depth: required when flattening_enabled is true"
        )
    if "faker_config" in config:
        errors.append(
            "invalid setting faker_config: not supported (Faker is not installed; "
            "IGDB's records hold no personal data to mask)"
        )
    return errors
