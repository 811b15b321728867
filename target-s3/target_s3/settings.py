"""Settings checks: one line per bad setting, each naming it, in one style.

The target runs these before the SDK's JSON-schema validation, whose messages
differ in style and would echo a secret's value.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from urllib.parse import urlsplit

COMPRESSIONS = ("gzip", "none")
SECRETS = frozenset({"aws_access_key_id", "aws_secret_access_key", "aws_session_token"})
STRINGS = ("bucket", "local_path", "prefix", "endpoint_url", "region", *sorted(SECRETS))


@dataclass(frozen=True)
class Settings:
    """The validated settings the sinks need (no secrets in here)."""

    prefix: str
    compression: str
    batch_size_records: int
    batch_size_bytes: int


def read_settings(config: t.Mapping[str, t.Any]) -> Settings:
    """The sinks' settings from a config already checked by `setting_errors`."""
    return Settings(
        prefix=str(config["prefix"]).strip("/"),
        compression=config["compression"],
        batch_size_records=config["batch_size_records"],
        batch_size_bytes=config["batch_size_bytes"],
    )


def setting_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """What is wrong with `config` (defaults applied), one message per bad setting."""
    return _kind_and_range_errors(config) or _consistency_errors(
        config
    )  # values need the right types


def _kind_and_range_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    errors = [
        _message(config, name, "be a string")
        for name in STRINGS
        if config.get(name) is not None and not isinstance(config[name], str)
    ]
    for name in ("batch_size_records", "batch_size_bytes"):
        if not _is_int(config.get(name)) or config[name] < 1:
            errors.append(_message(config, name, "be a positive integer"))
    if not _is_int(config.get("max_retries")) or config["max_retries"] < 0:
        errors.append(_message(config, "max_retries", "be an integer of zero or more"))
    if not isinstance(config.get("validate_records"), bool):
        errors.append(_message(config, "validate_records", "be true or false"))
    if config.get("compression") not in COMPRESSIONS:
        errors.append(_message(config, "compression", "be 'gzip' or 'none'"))
    return errors


def _consistency_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    errors = []
    if not config.get("bucket") and not str(config.get("local_path") or "").strip():
        errors.append("setting 'local_path' must not be empty when 'bucket' is empty")
    if not str(config.get("prefix") or "").strip("/"):
        errors.append("setting 'prefix' must not be empty")
    endpoint = config.get("endpoint_url")
    if endpoint and not _is_http_url(endpoint):
        rule = "be an http(s) URL such as http://127.0.0.1:8333"
        errors.append(_message(config, "endpoint_url", rule))
    key_id, secret = config.get("aws_access_key_id"), config.get("aws_secret_access_key")
    if key_id and not secret:
        errors.append(
            "setting 'aws_secret_access_key' must be set together with 'aws_access_key_id'"
        )
    if secret and not key_id:
        errors.append(
            "setting 'aws_access_key_id' must be set together with 'aws_secret_access_key'"
        )
    return errors


def _message(config: t.Mapping[str, t.Any], name: str, rule: str) -> str:
    got = "" if name in SECRETS else f", got {config.get(name)!r}"  # never show a secret
    return f"setting '{name}' must {rule}{got}"


def _is_int(value: t.Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname) and " " not in value
