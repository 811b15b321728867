"""Settings checks: one line per bad setting, each naming it, in one style.

The target runs these before the SDK's JSON-schema validation, whose messages
differ in style and would echo a secret's value.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass
from urllib.parse import urlsplit

COMPRESSIONS = ("gzip", "none")
SECRETS = frozenset({"aws_access_key_id", "aws_secret_access_key", "aws_session_token"})
STRINGS = ("bucket", "local_path", "prefix", "endpoint_url", "region", *sorted(SECRETS))
# Meltano's and the Singer SDK's words for true, and their opposites.
BOOLEAN_WORDS = {"true": True, "1": True, "yes": True, "on": True}
BOOLEAN_WORDS |= {"false": False, "0": False, "no": False, "off": False}
# S3's rules for a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Inclusive bounds of the lake lock's settings (seconds); a day at most.
LOCK_WAIT_BOUNDS = (0, 86_400)
LOCK_TTL_BOUNDS = (30, 86_400)  # renewed every third: at least every 10 s


@dataclass(frozen=True)
class Settings:
    """The validated settings the sinks need (no secrets in here)."""

    prefix: str
    compression: str
    batch_size_records: int
    batch_size_bytes: int
    lock_wait_seconds: int
    lock_ttl_seconds: int


def read_settings(config: t.Mapping[str, t.Any]) -> Settings:
    """The sinks' settings from a config already checked by `setting_errors`."""
    return Settings(
        prefix=str(config["prefix"]).strip("/"),
        compression=config["compression"],
        batch_size_records=config["batch_size_records"],
        batch_size_bytes=config["batch_size_bytes"],
        lock_wait_seconds=config["lock_wait_seconds"],
        lock_ttl_seconds=config["lock_ttl_seconds"],
    )


def parsed_strings(
    config: t.Mapping[str, t.Any], schema: t.Mapping[str, t.Any]
) -> dict[str, t.Any]:
    """The integer and boolean settings given as strings that read as one, parsed.

    Meltano passes them through as strings (`kind: string` in
    load/target-s3.meltano.yml): its own cast fails on `abc` with a traceback
    naming no setting, and turns any unknown word into false. Strings that do
    not parse stay as they are, for `setting_errors` to name.
    """
    parsed: dict[str, t.Any] = {}
    for name, value in config.items():
        if not isinstance(value, str):
            continue
        kinds = schema["properties"].get(name, {}).get("type", [])
        word = value.strip().lower()
        if "integer" in kinds and re.fullmatch(r"[+-]?\d+", word):
            parsed[name] = int(word)
        elif "boolean" in kinds and word in BOOLEAN_WORDS:
            parsed[name] = BOOLEAN_WORDS[word]
    return parsed


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
    for name, (low, high) in (
        ("lock_wait_seconds", LOCK_WAIT_BOUNDS),
        ("lock_ttl_seconds", LOCK_TTL_BOUNDS),
    ):
        if not _is_int(config.get(name)) or not low <= config[name] <= high:
            errors.append(_message(config, name, f"be an integer from {low} to {high}"))
    if not isinstance(config.get("validate_records"), bool):
        errors.append(_message(config, "validate_records", "be true or false"))
    if config.get("compression") not in COMPRESSIONS:
        errors.append(_message(config, "compression", "be 'gzip' or 'none'"))
    return errors


def _consistency_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    errors = []
    if not config.get("bucket") and not str(config.get("local_path") or "").strip():
        errors.append("setting 'local_path' must not be empty when 'bucket' is empty")
    bucket = config.get("bucket")
    if bucket and not BUCKET_NAME.fullmatch(bucket):
        rule = "be an S3 bucket name (3 to 63 lowercase letters, digits, dots or hyphens)"
        errors.append(_message(config, "bucket", rule))
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
