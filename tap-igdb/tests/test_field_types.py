"""A field whose type changes at IGDB stops the tap before any record of that response.

Records leave the tap exactly as IGDB sent them, and dbt reads each field with the
schema's type: a string where a number was, or an object where an id was, must not
reach the raw layer (it would stop every later dbt run, or be cast silently).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from igdb_emulator import Dataset, Emulator, EmulatorConfig, Fault
from igdb_emulator.faults import NewType
from igdb_emulator.pytest_plugin import EmulatorFactory
from tap_igdb.errors import FieldTypeError
from tap_igdb.field_types import FieldTypes
from tap_igdb.tap import TapIGDB

if TYPE_CHECKING:
    from conftest import EmulatorSettings, JSONObject

TAP_CLI = [sys.executable, "-m", "tap_igdb.tap"]
PAGE = 50


@pytest.fixture(scope="module")
def schemas() -> dict[str, JSONObject]:
    tap = TapIGDB(config={"client_id": "x", "client_secret": "y"})
    return {name: stream.schema for name, stream in tap.streams.items()}


@pytest.fixture(scope="module")
def games(schemas: dict[str, JSONObject]) -> FieldTypes:
    return FieldTypes("games", schemas["games"])


def test_every_record_the_emulator_serves_passes(schemas: dict[str, JSONObject]) -> None:
    samples = Dataset.samples()
    generated = Dataset.generate(games=2_000, seed=9)
    for stream, schema in schemas.items():
        types = FieldTypes(stream, schema)
        types.check(list(samples.table(stream).records()))
        types.check(list(generated.table(stream).records()))


def test_values_json_schema_allows_pass(games: FieldTypes) -> None:
    games.check(
        [
            {"id": 1},
            {"id": 2, "rating": 80, "aggregated_rating": 7.5, "name": None, "genres": None},
            {"id": 3, "genres": [], "platforms": [6, 48], "name": "n", "brand_new_field": {}},
        ]
    )


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {"id": 7, "rating": "85.3"},
            "games: IGDB sent record 7 with field 'rating' as string \"85.3\", "
            "not number or null; stopped before loading any record of that response "
            "(if IGDB changed the type for good, update tap_igdb/schemas/games.json)",
        ),
        ({"id": 7, "cover": {"id": 3}}, "field 'cover' as object {\"id\":3}, not integer or null"),
        ({"id": 7, "hypes": 2.0}, "field 'hypes' as number 2.0, not integer or null"),
        ({"id": 7, "hypes": True}, "field 'hypes' as boolean true, not integer or null"),
        ({"id": 7, "name": 12}, "field 'name' as integer 12, not string or null"),
        (
            {"id": 7, "platforms": [6, {"id": 48}]},
            "field 'platforms' as array [6,{\"id\":48}], not array of integer or null",
        ),
        ({"id": 7, "platforms": 6}, "field 'platforms' as integer 6, not array of integer"),
        ({"id": "7"}, 'record "7" with field \'id\' as string "7", not integer;'),
        ({"id": 7, "summary": "x" * 500}, None),
        ({"id": 7, "name": {"text": "y" * 500}}, 'as object {"text":"yyyyyyyy'),
    ],
)
def test_a_value_of_another_type_fails_naming_stream_record_and_field(
    games: FieldTypes, record: dict[str, Any], message: str | None
) -> None:
    records = [{"id": 1, "rating": 1.5}, record]
    if message is None:
        games.check(records)
        return
    with pytest.raises(FieldTypeError) as raised:
        games.check(records)
    text = str(raised.value)
    assert message in text
    assert "\n" not in text
    assert len(text) < 400  # long values are cut short


# --- against the emulator ---------------------------------------------------------------


def run_cli(
    tmp_path: Path, config: JSONObject, state: JSONObject | None = None
) -> tuple[subprocess.CompletedProcess[str], list[JSONObject]]:
    """The tap as Meltano runs it, selecting games only; its messages parsed."""
    (tmp_path / "config.json").write_text(json.dumps(config))
    discovered = subprocess.run(
        [*TAP_CLI, "--config", str(tmp_path / "config.json"), "--discover"],
        capture_output=True,
        text=True,
        check=True,
    )
    catalog = json.loads(discovered.stdout)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] == "games"
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    args = ["--config", str(tmp_path / "config.json"), "--catalog", str(tmp_path / "catalog.json")]
    if state is not None:
        (tmp_path / "state.json").write_text(json.dumps(state))
        args += ["--state", str(tmp_path / "state.json")]
    result = subprocess.run([*TAP_CLI, *args], capture_output=True, text=True, check=False)
    return result, [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def emu(igdb_emulator_factory: EmulatorFactory) -> Emulator:
    return igdb_emulator_factory(config=EmulatorConfig.unthrottled())


CHANGES: dict[str, tuple[str, NewType]] = {
    "rating as a string": ("rating", "string"),
    "cover id as an object": ("cover", "object"),
    "platform ids as objects": ("platforms", "object"),
    "updated_at (the bookmark) as a string": ("updated_at", "string"),
}


@pytest.mark.parametrize(("field", "to"), CHANGES.values(), ids=CHANGES.keys())
def test_the_run_stops_with_one_line_before_the_response_holding_the_changed_record(
    emu: Emulator,
    emulator_config: EmulatorSettings,
    tmp_path: Path,
    field: str,
    to: NewType,
) -> None:
    truth = emu.truth("games")
    ids = [game["id"] for game in truth]
    bad = next(game["id"] for game in truth[2 * PAGE + 10 :] if field in game)  # page 3+
    emu.faults.add(Fault.change_type(field, to, endpoint="games", ids=[bad]))
    config = emulator_config(
        emu, page_size=PAGE, use_multiquery=False, max_open_requests=1, requests_per_second=100
    )
    state = {"bookmarks": {"games": {"replication_key": "updated_at", "replication_key_value": 1}}}

    result, messages = run_cli(tmp_path, config, state)

    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr[-2000:]
    assert f"games: IGDB sent record {bad} with field '{field}' as " in errors[0]
    assert "Traceback" not in result.stderr
    emitted = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert len(emitted) <= ids.index(bad) - ids.index(bad) % PAGE  # not its page
    assert emitted == truth[: len(emitted)]  # what came before it, unchanged
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    assert all(s["bookmarks"]["games"].get("replication_key_value") == 1 for s in states)


def test_the_rerun_after_the_source_is_fixed_reads_everything(
    emu: Emulator, emulator_config: EmulatorSettings, tmp_path: Path
) -> None:
    config = emulator_config(emu, page_size=PAGE, requests_per_second=100)
    emu.faults.add(Fault.change_type("rating", "string", endpoint="games"))
    failed, _ = run_cli(tmp_path, config)
    assert failed.returncode == 1

    emu.faults.clear()
    fixed, messages = run_cli(tmp_path, config)

    assert fixed.returncode == 0, fixed.stderr[-2000:]
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert sorted(records, key=lambda r: r["id"]) == emu.truth("games")
