"""What `tap-igdb --about` advertises, exactly, and a test of each thing it advertises.

The SDK adds settings of its own to every tap (stream maps, flattening, batch mode,
faker); the tap advertises only those it honours, each with a test here (or in
test_batch.py) that shows its effect on the tap's output. `faker_config` is not
advertised: Faker is not installed (IGDB's records hold no personal data to mask).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from tap_igdb.errors import ConfigError
from tap_igdb.tap import TapIGDB

if TYPE_CHECKING:
    from conftest import FakeServer, JSONObject, Reply, RunTap, Seen

TAP = [sys.executable, "-m", "tap_igdb.tap"]
TESTS = Path(__file__).parent
MELTANO_DEFINITION = TESTS.parents[1] / "extract" / "tap-igdb.meltano.yml"

TAP_SETTINGS = {
    "client_id",
    "client_secret",
    "api_url",
    "auth_url",
    "start_date",
    "lookback_seconds",
    "page_size",
    "requests_per_second",
    "max_open_requests",
    "use_multiquery",
    "multiquery_pages",
    "request_timeout",
    "max_retries",
    "backoff_base_ms",
    "backoff_max_ms",
    "progress_interval_seconds",
    "emit_activate_version_messages",
}
# The SDK's settings the tap advertises, and the test that shows each one's effect.
SDK_SETTINGS = {
    "stream_maps": ("test_capabilities.py", "test_stream_maps_rename_filter_and_drop_fields"),
    "stream_map_config": (
        "test_capabilities.py",
        "test_stream_map_config_reaches_map_expressions",
    ),
    "flattening_enabled": ("test_capabilities.py", "test_flattening_expands_an_object_field"),
    "flattening_max_depth": ("test_capabilities.py", "test_flattening_expands_an_object_field"),
    "flattening_separator": ("test_capabilities.py", "test_flattening_expands_an_object_field"),
    "flattening_max_key_length": ("test_capabilities.py", "test_flattening_shortens_long_keys"),
    "batch_config": (
        "test_batch.py",
        "test_batch_files_hold_every_record_inside_the_table_version",
    ),
}
# Each capability, and a test that uses it as Meltano does.
MELTANO_LIKE_RUN = (
    "test_field_types.py",  # the CLI with --catalog and --state
    "test_the_run_stops_with_one_line_before_the_response_holding_the_changed_record",
)
CAPABILITIES = {
    "about": ("test_capabilities.py", "test_about_advertises_exactly_the_settings_that_work"),
    "discover": ("test_config.py", "test_about_and_discover_work_offline_without_config"),
    "catalog": MELTANO_LIKE_RUN,
    "state": MELTANO_LIKE_RUN,
    "activate-version": (
        "test_sync.py",
        "test_no_state_run_frames_every_stream_with_one_table_version",
    ),
    "stream-maps": SDK_SETTINGS["stream_maps"],
    "schema-flattening": SDK_SETTINGS["flattening_enabled"],
    "batch": SDK_SETTINGS["batch_config"],
    "structured-logging": (
        "test_capabilities.py",
        "test_structured_logging_makes_every_log_line_json",
    ),
}


def about() -> JSONObject:
    result = subprocess.run(
        [*TAP, "--about", "--format=json"], capture_output=True, text=True, check=True
    )
    document: JSONObject = json.loads(result.stdout)
    return document


def test_about_advertises_exactly_the_settings_that_work() -> None:
    document = about()
    assert set(document["settings"]["properties"]) == TAP_SETTINGS | set(SDK_SETTINGS)
    assert "faker_config" not in document["settings"]["properties"]
    assert set(document["capabilities"]) == set(CAPABILITIES)


@pytest.mark.parametrize(
    ("module", "name"), sorted(set(SDK_SETTINGS.values()) | set(CAPABILITIES.values()))
)
def test_each_advertised_setting_and_capability_has_a_test(module: str, name: str) -> None:
    assert f"\ndef {name}(" in (TESTS / module).read_text(), f"{module}::{name} is gone"


def test_the_meltano_definition_declares_the_same_capabilities() -> None:
    (plugin,) = yaml.safe_load(MELTANO_DEFINITION.read_text())["plugins"]["extractors"]
    assert set(plugin["capabilities"]) == set(about()["capabilities"])


def test_faker_config_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as raised:
        TapIGDB(config={"client_id": "a", "client_secret": "b", "faker_config": {"seed": 1}})
    assert str(raised.value) == (
        "invalid setting faker_config: not supported (Faker is not installed; "
        "IGDB's records hold no personal data to mask)"
    )


def test_flattening_without_a_depth_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as raised:
        TapIGDB(config={"client_id": "a", "client_secret": "b", "flattening_enabled": "true"})
    assert str(raised.value) == (
        "invalid setting flattening_max_depth: required when flattening_enabled is true"
    )


# --- their effects on the tap's output ----------------------------------------------------

GENRES: list[JSONObject] = [
    {"id": 1, "name": "Point-and-click", "slug": "point-and-click"},
    {"id": 2, "name": "Fighting", "slug": "fighting"},
    {"id": 4, "name": "Shooter", "slug": "shooter"},
]


def genres_api(fake_igdb: FakeServer, records: list[JSONObject]) -> None:
    """A fake IGDB whose genres table holds `records` (one page)."""

    def api(seen: Seen) -> Reply:
        assert seen.path == "/v4/genres"
        return fake_igdb.reply(body=records)

    fake_igdb.api = api


def test_stream_maps_rename_filter_and_drop_fields(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    genres_api(fake_igdb, GENRES)
    maps = {"genres": {"title": "name", "name": "__NULL__", "__filter__": "id != 2"}}

    run = run_tap({**fake_igdb_config, "stream_maps": maps}, streams=["genres"])

    assert run.records("genres") == [
        {"id": 1, "slug": "point-and-click", "title": "Point-and-click"},
        {"id": 4, "slug": "shooter", "title": "Shooter"},
    ]
    (schema,) = run.of_type("SCHEMA", "genres")
    assert "title" in schema["schema"]["properties"]
    assert "name" not in schema["schema"]["properties"]
    # Still one table version, before and after the mapped records.
    assert len(run.of_type("ACTIVATE_VERSION", "genres")) == 2


def test_stream_maps_alias_a_stream(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    genres_api(fake_igdb, GENRES)
    maps = {"genres": {"__alias__": "igdb_genres"}}

    run = run_tap({**fake_igdb_config, "stream_maps": maps}, streams=["genres"])

    assert run.records("igdb_genres") == GENRES
    assert {m.get("stream") for m in run.messages if m["type"] != "STATE"} == {"igdb_genres"}
    assert len(run.of_type("ACTIVATE_VERSION", "igdb_genres")) == 2


def test_stream_map_config_reaches_map_expressions(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    genres_api(fake_igdb, GENRES[:1])
    config = {
        **fake_igdb_config,
        "stream_map_config": {"source_name": "igdb-production"},
        "stream_maps": {"genres": {"source": "config['source_name']"}},
    }

    run = run_tap(config, streams=["genres"])

    assert run.records("genres") == [{**GENRES[0], "source": "igdb-production"}]


# A field IGDB added later (kept as it came, outside the schema), holding an object.
NESTED: JSONObject = {
    "id": 7,
    "name": "Puzzle",
    "localization": {"region": {"code": "eu", "names": ["Puzzle", "Casse-tête"]}},
}


REGION_AS_JSON = '{"code":"eu","names":["Puzzle","Casse-t\\u00eate"]}'


def test_flattening_expands_an_object_field(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    genres_api(fake_igdb, [NESTED])
    flat = {**fake_igdb_config, "flattening_enabled": True}

    one_level = run_tap({**flat, "flattening_max_depth": 1}, streams=["genres"])
    two_levels = run_tap({**flat, "flattening_max_depth": 2}, streams=["genres"])
    dotted = run_tap(
        {**flat, "flattening_max_depth": 2, "flattening_separator": "."}, streams=["genres"]
    )

    # Below the depth: the rest of the object as JSON text.
    assert one_level.records("genres") == [
        {"id": 7, "name": "Puzzle", "localization__region": REGION_AS_JSON}
    ]
    assert two_levels.records("genres") == [
        {
            "id": 7,
            "name": "Puzzle",
            "localization__region__code": "eu",
            "localization__region__names": '["Puzzle","Casse-t\\u00eate"]',
        }
    ]
    assert set(dotted.records("genres")[0]) == {
        "id",
        "name",
        "localization.region.code",
        "localization.region.names",
    }


def test_flattening_shortens_long_keys(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    genres_api(fake_igdb, [NESTED])
    config = {
        **fake_igdb_config,
        "flattening_enabled": True,
        "flattening_max_depth": 2,
        "flattening_max_key_length": 20,
    }

    run = run_tap(config, streams=["genres"])

    (record,) = run.records("genres")
    assert {"id", "name"} <= set(record)
    flattened = set(record) - {"id", "name"}
    assert len(flattened) == 2
    assert all(len(key) <= 20 for key in flattened), flattened
    assert sorted(record[key] for key in flattened) == ['["Puzzle","Casse-t\\u00eate"]', "eu"]


def test_structured_logging_makes_every_log_line_json(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, tmp_path: Path
) -> None:
    """What Meltano sets up for a plugin with `structured-logging` and the singer-sdk
    log parser: a logging config whose formatter is the SDK's StructuredFormatter."""
    genres_api(fake_igdb, GENRES)
    logging_config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": "singer_sdk.logging.StructuredFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["console"]},
    }
    (tmp_path / "logging.json").write_text(json.dumps(logging_config))
    (tmp_path / "config.json").write_text(json.dumps(fake_igdb_config))
    catalog = tmp_path / "catalog.json"
    discovered = subprocess.run(
        [*TAP, "--config", str(tmp_path / "config.json"), "--discover"],
        capture_output=True,
        text=True,
        check=True,
    )
    document = json.loads(discovered.stdout)
    for stream in document["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] == "genres"
    catalog.write_text(json.dumps(document))

    result = subprocess.run(
        [*TAP, "--config", str(tmp_path / "config.json"), "--catalog", str(catalog)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "SINGER_SDK_LOG_CONFIG": str(tmp_path / "logging.json")},
    )

    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    messages = [line["message"] for line in lines]
    assert "genres: 3 of ~3 records" in "\n".join(messages), messages
    assert all({"level", "logger_name", "message"} <= set(line) for line in lines)
    assert fake_igdb_config["client_secret"] not in result.stderr
