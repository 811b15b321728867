"""target-s3's settings in one pass: parse, check against the schema, check across fields.

1. Parse. Meltano passes integer and boolean settings through as strings
   (`kind: string` in load/target-s3.meltano.yml: its own cast fails on `abc`
   with a traceback naming no setting, and turns any unknown word into false).
   Strings that read as an integer, or as one of `BOOLEAN_WORDS`, become one;
   a null setting is unset. Anything else is left for step 2 to name.
2. The SDK's JSON-schema validator checks every type, bound and allowed value,
   which the target's `config_jsonschema` declares once, and fills in the
   defaults.
3. Cross-field checks: what a schema cannot say (`bucket` or `local_path`, a
   key id with its secret, the endpoint URL's shape, the bucket name's rules,
   a non-empty prefix).

Settings the Singer SDK offers other targets that the raw layer cannot honour
(`UNSUPPORTED`) are never advertised (the target adds none of the SDK's
built-in settings) and are refused when given, rather than silently ignored.

Each problem is one line naming the setting, in one style,
`setting 'NAME' must ..., got VALUE`, worded from the schema; a secret's value
(`secret: true`) is never shown. The SDK's own messages differ in style and
would echo a secret.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass
from urllib.parse import urlsplit

from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR, extend_validator_with_defaults

# The project's words for true and false (case and surrounding spaces aside).
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
INTEGER = re.compile(r"[+-]?\d+")
# S3's rules for a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

# The SDK's settings for targets that the raw layer cannot honour, and why
# (target-s3/README.md, "Settings the SDK offers and target-s3 refuses").
UNSUPPORTED: dict[str, str] = {
    "load_method": "stream records are always appended to the raw layer, and a "
    "table is replaced only by a completed ACTIVATE_VERSION (a full refresh)",
    "add_record_metadata": "every record line carries exactly the raw layer's "
    "metadata columns (the extraction time and the table version)",
    "batch_size_rows": "use batch_size_records",
    "batch_config": "BATCH messages name their files by URL, and target-s3 reads "
    "file:// URLs and s3:// URLs with its own S3 settings",
    "process_activate_version_messages": "ACTIVATE_VERSION is how a full refresh "
    "replaces a table without a half-visible version",
}

# The SDK's config validator: it fills in the defaults as it checks.
_Validator = extend_validator_with_defaults(DEFAULT_JSONSCHEMA_VALIDATOR)


@dataclass(frozen=True)
class Settings:
    """The checked settings the sinks and the lake lock need (no secrets in here)."""

    prefix: str
    compression: str
    batch_size_records: int
    batch_size_bytes: int
    lock_wait_seconds: int
    lock_ttl_seconds: int
    grace_days: int

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> Settings:
        """From a config that passed `check_config` (so defaults are in)."""
        return cls(
            prefix=str(config["prefix"]).strip("/"),
            compression=config["compression"],
            batch_size_records=config["batch_size_records"],
            batch_size_bytes=config["batch_size_bytes"],
            lock_wait_seconds=config["lock_wait_seconds"],
            lock_ttl_seconds=config["lock_ttl_seconds"],
            grace_days=config["grace_days"],
        )


def config_from_environment(environ: t.Mapping[str, str]) -> dict[str, str]:
    """The settings `meltano invoke target-s3:<command>` exports, as TARGET_S3_<NAME>."""
    prefix = "TARGET_S3_"
    return {
        name.removeprefix(prefix).lower(): value
        for name, value in environ.items()
        if name.startswith(prefix) and value
    }


def check_config(config: t.MutableMapping[str, t.Any], schema: t.Mapping[str, t.Any]) -> list[str]:
    """The settings pass over `config`, in place (values parsed, defaults in); its problems."""
    for name in [name for name, value in config.items() if value is None]:
        del config[name]  # unset: its default applies
    config.update(parsed_strings(config, schema))
    refused = [
        f"setting '{name}' is not supported by target-s3: {why}"
        for name, why in UNSUPPORTED.items()
        if name in config
    ]
    return refused + schema_errors(config, schema) or cross_field_errors(config)


def parsed_strings(
    config: t.Mapping[str, t.Any], schema: t.Mapping[str, t.Any]
) -> dict[str, t.Any]:
    """The integer and boolean settings given as strings that read as one, parsed."""
    parsed: dict[str, t.Any] = {}
    for name, value in config.items():
        if not isinstance(value, str):
            continue
        kinds = _kinds(schema["properties"].get(name, {}))
        word = value.strip().lower()
        if "integer" in kinds and INTEGER.fullmatch(word):
            parsed[name] = int(word)
        elif "boolean" in kinds and word in BOOLEAN_WORDS:
            parsed[name] = BOOLEAN_WORDS[word]
    return parsed


def schema_errors(config: t.MutableMapping[str, t.Any], schema: t.Mapping[str, t.Any]) -> list[str]:
    """What the SDK's validator finds, one line per setting, in schema order."""
    found = list(_Validator(schema).iter_errors(config))
    if any(not error.path for error in found):
        return ["the settings must be a JSON object of the target's settings"]
    bad = {str(error.path[0]) for error in found}
    properties = schema["properties"]
    return [
        _message(name, _rule(spec), config.get(name), secret=bool(spec.get("secret")))
        for name, spec in properties.items()
        if name in bad
    ]


def cross_field_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """What a schema cannot say; `config` has passed `schema_errors`."""
    errors = []
    if not config.get("bucket") and not str(config.get("local_path") or "").strip():
        errors.append("setting 'local_path' must not be empty when 'bucket' is empty")
    bucket = config.get("bucket")
    if bucket and not BUCKET_NAME.fullmatch(bucket):
        rule = "be an S3 bucket name (3 to 63 lowercase letters, digits, dots or hyphens)"
        errors.append(_message("bucket", rule, bucket))
    if not str(config.get("prefix") or "").strip("/"):
        errors.append("setting 'prefix' must not be empty")
    endpoint = config.get("endpoint_url")
    if endpoint and not _is_http_url(endpoint):
        rule = "be an http(s) URL such as http://127.0.0.1:8333"
        errors.append(_message("endpoint_url", rule, endpoint))
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


def _kinds(spec: t.Mapping[str, t.Any]) -> list[str]:
    kinds = spec.get("type", [])
    return [kinds] if isinstance(kinds, str) else list(kinds)


def _rule(spec: t.Mapping[str, t.Any]) -> str:
    """What a value of this setting must be, from its JSON schema."""
    kinds = _kinds(spec)
    if "enum" in spec:
        return "be " + " or ".join(repr(value) for value in spec["enum"] if value is not None)
    if "integer" in kinds:
        return _integer_rule(spec.get("minimum"), spec.get("maximum"))
    if "boolean" in kinds:
        return "be true or false"
    if "string" in kinds:
        return "be a string"
    return "be " + " or ".join(f"a JSON {kind}" for kind in kinds if kind != "null")


def _integer_rule(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"be an integer from {low} to {high}"
    if low is not None:
        words = {0: "be an integer of zero or more", 1: "be a positive integer"}
        return words.get(low, f"be an integer of {low} or more")
    return "be an integer" if high is None else f"be an integer of {high} or less"


def _message(name: str, rule: str, value: t.Any, *, secret: bool = False) -> str:
    got = "" if secret else f", got {value!r}"  # never show a secret
    return f"setting '{name}' must {rule}{got}"


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname) and " " not in value
