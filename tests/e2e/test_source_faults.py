"""Faults of the source's data, end to end: real `meltano run` against the emulator.

IGDB keeps answering 200 while its data misbehaves: records change while the tap
pages through them, an entity gains a field nobody announced, a field changes type.
Each case is survived with correct data, or fails the run with one clear line and a
rerun after the source is fixed gives correct data.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from igdb_emulator import Fault
from igdb_emulator.faults import NewType

from tests.e2e.conftest import MAIN_JOB, Pipeline
from tests.support.dim_games import assert_rows_equal, expected_dim_games, latest_by_id
from tests.support.lake import DEFAULT_STREAMS, listed_records, require_manifest, source_fields

EL = ("run", "tap-igdb", "target-s3")
NEW_VALUE = {"kind": "surprise", "values": [1, 2.5, "x"], "nested": {"flag": True}}


def lake_games(pipeline: Pipeline) -> dict[int, dict[str, Any]]:
    """The latest listed version of every game, as the source sent it."""
    latest = latest_by_id(listed_records(pipeline.lake, "games"))
    return {game_id: source_fields(record) for game_id, record in latest.items()}


def games_bookmark(pipeline: Pipeline) -> int:
    value: int = pipeline.state()["singer_state"]["bookmarks"]["games"]["replication_key_value"]
    return value


def assert_mart_equals(pipeline: Pipeline, games: list[dict[str, Any]]) -> None:
    """dim_games equals the oracle over `games` and the source's other streams."""
    streams = {stream: pipeline.emulator.truth(stream) for stream in DEFAULT_STREAMS}
    assert_rows_equal(pipeline.dim_games(), expected_dim_games({**streams, "games": games}))


def assert_mart_equals_what_landed(pipeline: Pipeline) -> None:
    """dim_games equals the oracle over the latest landed version of every record: a run
    whose source changed mid-read loaded what it read (a game added mid-read may have
    landed without its cover, whose snapshot was read before the game was added)."""
    landed = {
        stream: [
            source_fields(r) for r in latest_by_id(listed_records(pipeline.lake, stream)).values()
        ]
        for stream in DEFAULT_STREAMS
    }
    assert_rows_equal(pipeline.dim_games(), expected_dim_games(landed))


def assert_lake_and_mart_equal_the_source(pipeline: Pipeline) -> None:
    truth = pipeline.emulator.truth("games")
    assert lake_games(pipeline) == {game["id"]: game for game in truth}
    assert_mart_equals(pipeline, truth)


# --- records changing while the tap reads -----------------------------------------------

# Whose read the change falls in, and pages small enough that reading games takes
# several requests (the day-2 window holds ~50 games). One request at a time: none is
# in flight when the change lands, so the games not yet reached are read new.
ONE_AT_A_TIME = {"TAP_IGDB_MAX_OPEN_REQUESTS": "1", "TAP_IGDB_MULTIQUERY_PAGES": "2"}
READS = {
    "the first run": (False, {**ONE_AT_A_TIME, "TAP_IGDB_PAGE_SIZE": "50"}),
    "a day-2 incremental run": (True, {**ONE_AT_A_TIME, "TAP_IGDB_PAGE_SIZE": "10"}),
}


@pytest.mark.slow
@pytest.mark.parametrize(("day_two", "pages"), READS.values(), ids=READS.keys())
@pytest.mark.fault_matrix(
    fault="games change while {id} pages through them",
    injected="emulator (IGDB): after the first page of games, 3 games already read and "
    "3 not yet reached get a new version, 3 are added",
    outcome="survived: changes on pages not yet read are read now, the others next run",
    check="bookmark behind every game read in its old version; after the next run "
    "the lake's latest games, dim_games and the bookmark equal the source",
)
def test_records_changing_mid_read_are_read_now_or_by_the_next_run(
    dev_pipeline: Pipeline, day_two: bool, pages: dict[str, str]
) -> None:
    emulator = dev_pipeline.emulator
    if day_two:
        dev_pipeline.meltano(*EL)
        emulator.advance_day(changed=30, added=10, deleted=0, endpoint="games")
    before = {game["id"]: game for game in emulator.truth("games")}
    emulator.faults.add(Fault.change_during_read(after=1, changed=6, added=3, seconds=600))

    dev_pipeline.meltano(*MAIN_JOB, env=pages)

    truth = emulator.truth("games")
    changed = {g["id"] for g in truth if before.get(g["id"]) != g}
    assert len(changed) == 9, "the change never happened"
    lake = lake_games(dev_pipeline)
    stale = {g["id"] for g in truth if lake.get(g["id"]) != g}  # read in the old version
    assert stale <= changed
    assert stale, "every change fell after the read: nothing was changed mid-read"
    assert changed - stale, "every change fell before the read: nothing was read new"
    bookmark = games_bookmark(dev_pipeline)
    behind = [g["id"] for g in truth if g["id"] in stale and g["updated_at"] <= bookmark]
    assert not behind, f"bookmark {bookmark} passed games changed mid-read: {behind}"
    assert_mart_equals_what_landed(dev_pipeline)  # dbt loaded what was read

    dev_pipeline.meltano(*MAIN_JOB, env=pages)

    assert_lake_and_mart_equal_the_source(dev_pipeline)
    assert games_bookmark(dev_pipeline) == max(game["updated_at"] for game in truth)


# --- a new field ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("stream", ["games", "platforms"])
@pytest.mark.fault_matrix(
    fault="IGDB adds an unannounced field to {stream}",
    injected="emulator (IGDB): every record carries brand_new_field (an object)",
    outcome="survived: the tap warns once naming the field",
    check="raw layer holds every record exactly as sent, the new field included; "
    "dim_games equals the source",
)
def test_a_new_field_is_kept_in_the_raw_layer_and_named_once(
    dev_pipeline: Pipeline, stream: str
) -> None:
    emulator = dev_pipeline.emulator
    emulator.faults.add(Fault.new_field("brand_new_field", NEW_VALUE, endpoint=stream))

    result = dev_pipeline.meltano(*MAIN_JOB)

    named = [line for line in (result.stdout + result.stderr).splitlines() if "brand_new" in line]
    assert len(named) == 1, named
    assert re.search(rf"{stream}: .*missing from the schema.*: brand_new_field$", named[0])
    listed = [source_fields(r) for r in listed_records(dev_pipeline.lake, stream)]
    truth = emulator.truth(stream)
    assert all(record["brand_new_field"] == NEW_VALUE for record in truth)
    assert sorted(listed, key=lambda record: record["id"]) == truth
    assert_mart_equals(dev_pipeline, emulator.truth("games"))


# --- a field changing type --------------------------------------------------------------

TYPE_CHANGES: dict[str, tuple[str, NewType]] = {
    "games.rating as a string": ("rating", "string"),
    "games.cover id as an object": ("cover", "object"),
}


@pytest.mark.slow
@pytest.mark.parametrize(("field", "to"), TYPE_CHANGES.values(), ids=TYPE_CHANGES.keys())
@pytest.mark.fault_matrix(
    fault="IGDB sends {id} (day 2)",
    injected="emulator (IGDB): one changed game's field in another type",
    outcome="fails loudly: the stream's failure logged once naming record and field, "
    "the run's last line naming it too; then the rerun after IGDB is fixed succeeds",
    check="games manifest and bookmark unchanged by the failed run; after the rerun "
    "the lake's latest games and dim_games equal the source",
)
def test_a_field_changing_type_stops_the_run_before_it_reaches_the_lake(
    dev_pipeline: Pipeline, field: str, to: NewType
) -> None:
    emulator = dev_pipeline.emulator
    dev_pipeline.meltano(*EL)
    day = emulator.advance_day(changed=20, added=5, deleted=0, endpoint="games")
    games = {game["id"]: game for game in emulator.truth("games")}
    bad = next(game_id for game_id in day.changed if field in games[game_id])
    emulator.faults.add(Fault.change_type(field, to, endpoint="games", ids=[bad]))
    manifest, bookmark = require_manifest(dev_pipeline.lake, "games"), games_bookmark(dev_pipeline)

    failed = dev_pipeline.meltano(*MAIN_JOB, check=False)

    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    named = [line for line in output.splitlines() if f"record {bad} with field '{field}'" in line]
    # The stream's failure as it happens (the other streams go on), then the run's last line.
    assert len(named) == 2, output[-3000:]
    assert "games: stream failed, the other streams go on: games: IGDB sent" in named[0]
    assert "streams failed: games (games: IGDB sent" in named[1]
    assert not re.search(r"tap-igdb\s+Traceback", output)
    assert require_manifest(dev_pipeline.lake, "games") == manifest  # nothing of it listed
    assert games_bookmark(dev_pipeline) == bookmark

    emulator.faults.clear()  # IGDB fixed
    dev_pipeline.meltano(*MAIN_JOB)

    assert_lake_and_mart_equal_the_source(dev_pipeline)
