"""Settings: clear one-line errors at start, and offline --about / --discover."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tap_igdb.errors import ConfigError
from tap_igdb.settings import BOOLEAN_WORDS
from tap_igdb.tap import TapIGDB

VALID = {"client_id": "abc", "client_secret": "very-secret-value"}
TAP = [sys.executable, "-m", "tap_igdb.tap"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"client_secret": "x"}, "missing required setting client_id"),
        ({**VALID, "client_id": ""}, "invalid setting client_id: must be a non-empty string"),
        (
            {**VALID, "client_secret": 42},
            "invalid setting client_secret: must be a non-empty string",
        ),
        ({**VALID, "page_size": 0}, "invalid setting page_size: 0 is less than the minimum of 1"),
        (
            {**VALID, "page_size": 501},
            "invalid setting page_size: 501 is greater than the maximum of 500",
        ),
        (
            {**VALID, "page_size": "big"},
            "invalid setting page_size: expected an integer, got 'big'",
        ),
        ({**VALID, "page_size": ""}, "invalid setting page_size: expected an integer, got ''"),
        ({**VALID, "page_size": "1.5"}, "invalid setting page_size: expected an integer"),
        (
            {**VALID, "use_multiquery": "maybe"},
            "invalid setting use_multiquery: expected true or false, got 'maybe'",
        ),
        ({**VALID, "page_size": "501"}, "invalid setting page_size: 501 is greater than"),
        ({**VALID, "max_open_requests": 9}, "invalid setting max_open_requests: 9 is greater"),
        ({**VALID, "requests_per_second": 0}, "invalid setting requests_per_second: 0 is less"),
        ({**VALID, "multiquery_pages": 11}, "invalid setting multiquery_pages: 11 is greater"),
        (
            {**VALID, "api_url": "api.igdb.com/v4"},
            "invalid setting api_url: expected an http(s) URL",
        ),
        ({**VALID, "auth_url": "ftp://x/y"}, "invalid setting auth_url: expected an http(s) URL"),
        ({**VALID, "start_date": "yesterday"}, "invalid setting start_date: expected an ISO 8601"),
        (
            {**VALID, "flattening_max_depth": -1},
            "invalid setting flattening_max_depth: -1 is less than the minimum of 0",
        ),
        (
            {**VALID, "flattening_max_key_length": "0"},
            "invalid setting flattening_max_key_length: 0 is less than the minimum of 1",
        ),
        (
            {**VALID, "batch_config": "{oops"},
            "invalid setting batch_config: expected a JSON object, got '{oops'",
        ),
        (
            {**VALID, "stream_maps": "[1, 2]"},
            "invalid setting stream_maps: expected a JSON object, got '[1, 2]'",
        ),
    ],
)
def test_bad_settings_are_one_line_naming_the_setting(
    config: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        TapIGDB(config=config)
    text = str(raised.value)
    assert text.startswith(message)
    assert "\n" not in text
    assert "very-secret-value" not in text


def test_integers_and_booleans_given_as_strings_are_parsed() -> None:
    """Meltano passes these settings through as strings (extract/tap-igdb.meltano.yml)."""
    config = {
        **VALID,
        "page_size": " 250 ",
        "lookback_seconds": "0",
        "use_multiquery": "False",
        "emit_activate_version_messages": "yes",
    }
    tap = TapIGDB(config=config)
    assert tap.config["page_size"] == 250
    assert tap.config["lookback_seconds"] == 0
    assert tap.config["use_multiquery"] is False
    assert tap.config["emit_activate_version_messages"] is True


def test_objects_given_as_json_strings_are_parsed() -> None:
    """Meltano passes an object setting set in the environment as the string given."""
    batch = {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": "file:///tmp"},
    }
    tap = TapIGDB(config={**VALID, "batch_config": json.dumps(batch), "stream_map_config": " {} "})
    assert tap.config["batch_config"] == batch
    assert tap.config["stream_map_config"] == {}


def test_the_boolean_words_are_the_projects_vocabulary() -> None:
    """The target and the dbt plugin keep their own copies; a root test compares them."""
    assert BOOLEAN_WORDS == {
        "true": True,
        "1": True,
        "yes": True,
        "on": True,
        "false": False,
        "0": False,
        "no": False,
        "off": False,
    }


@pytest.mark.parametrize("word", sorted(BOOLEAN_WORDS))
def test_every_boolean_word_is_read_whatever_its_case_and_spaces(word: str) -> None:
    for spelling in (word, f" {word.upper()}\t", word.capitalize()):
        tap = TapIGDB(config={**VALID, "use_multiquery": spelling})
        assert tap.config["use_multiquery"] is BOOLEAN_WORDS[word], spelling


def test_defaults_are_filled_in() -> None:
    tap = TapIGDB(config=VALID)
    assert tap.config["api_url"] == "https://api.igdb.com/v4"
    assert tap.config["page_size"] == 500
    assert tap.config["max_open_requests"] == 8
    assert tap.config["requests_per_second"] == 4
    assert tap.config["use_multiquery"] is True
    assert tap.config["emit_activate_version_messages"] is True


def test_client_secret_is_declared_secret() -> None:
    properties = TapIGDB.config_jsonschema["properties"]
    assert properties["client_secret"].get("secret") is True
    assert set(TapIGDB.config_jsonschema["required"]) == {"client_id", "client_secret"}


def test_cli_bad_config_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**VALID, "page_size": 501}))
    result = subprocess.run(
        [*TAP, "--config", str(config)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if "page_size" in line]
    assert errors == ["Error: invalid setting page_size: 501 is greater than the maximum of 500"]
    assert "Traceback" not in result.stderr


def test_about_and_discover_work_offline_without_config() -> None:
    about = subprocess.run(
        [*TAP, "--about", "--format=json"], capture_output=True, text=True, check=False
    )
    assert about.returncode == 0, about.stderr
    settings = set(json.loads(about.stdout)["settings"]["properties"])
    assert {"client_id", "client_secret", "page_size", "use_multiquery"} <= settings

    discover = subprocess.run([*TAP, "--discover"], capture_output=True, text=True, check=False)
    assert discover.returncode == 0, discover.stderr
    streams = {s["tap_stream_id"]: s for s in json.loads(discover.stdout)["streams"]}
    assert len(streams) == 74  # every IGDB entity endpoint (decision 0009)
    assert streams["games"]["replication_key"] == "updated_at"
    assert streams["games"]["replication_method"] == "INCREMENTAL"
    assert streams["platforms"]["replication_method"] == "FULL_TABLE"
    for stream in streams.values():
        assert stream["key_properties"] == ["id"]
        assert stream["replication_method"] in ("INCREMENTAL", "FULL_TABLE")
        assert "id" in stream["schema"]["properties"]


def test_dimensions_sync_before_facts() -> None:
    """The seed's order: FULL_TABLE lookups first, then the INCREMENTAL entities."""
    order = [
        (stream.name, bool(stream.replication_key))
        for stream in TapIGDB(config=VALID).streams.values()
    ]
    incremental = [is_incremental for _, is_incremental in order]

    assert incremental == sorted(incremental)  # every False before every True
    assert [name for name, _ in order].index("platforms") < [n for n, _ in order].index("games")
