"""Table versions (ACTIVATE_VERSION) and state gating."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from typing import Any

import pytest

GAMES = "raw/games"
GENRES = "raw/dimensions/genres"


def states_in(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line)["value"] for line in lines if json.loads(line)["type"] == "STATE"]


def test_full_refresh_swaps_to_the_new_version(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("games_incremental.singer"), batch_size_records=50)
    before = lake.manifest(GAMES)
    full = singer.lines("games_full_refresh.singer", version=2_000_000_000_000)
    emitted = lake.run(full, batch_size_records=30)

    after = lake.manifest(GAMES)
    assert before is not None
    assert after is not None
    assert after["table_version"] == 2_000_000_000_000
    assert after["generation"] == before["generation"] + 1  # one swap, no per-file writes
    assert [item["records"] for item in after["files"]] == [30, 30, 30, 10]
    assert {item["table_version"] for item in after["files"]} == {2_000_000_000_000}
    assert sorted(record["id"] for record in lake.records(GAMES)) == sorted(
        record["id"] for record in singer.seed_records("igdb_games_mock.jsonl")
    )
    for old in before["files"]:
        assert lake.status(old["key"]) in {"outdated", None}
    for new in after["files"]:
        assert lake.status(new["key"]) in {"final", None}
    assert emitted[-1] == states_in(full)[-1]


def test_incomplete_version_stays_unlisted_and_holds_state(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("games_incremental.singer"))
    before = lake.manifest(GAMES)
    incomplete = singer.lines("games_full_refresh_incomplete.singer", version=2_000_000_000_000)
    emitted = lake.run(incomplete, batch_size_records=30)

    assert lake.manifest(GAMES) == before  # nothing swapped, nothing appended
    unlisted = [
        key
        for key in lake.keys(GAMES)
        if "batch-" in key and key not in {item["key"] for item in before["files"]}
    ]
    assert len(unlisted) == 4  # the version's files exist, unlisted, still temp
    assert all(lake.status(key) in {"temp", None} for key in unlisted)
    # Only the state received before the version opened may be emitted.
    assert emitted == [states_in(incomplete)[0]]


def test_unversioned_incremental_stream_starts_a_version(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("games_incremental.singer"))

    manifest = lake.manifest(GAMES)
    assert manifest is not None
    version = manifest["table_version"]
    assert isinstance(version, int)
    assert abs(version - time.time() * 1000) < 600_000  # epoch milliseconds, just now
    assert {record["_sdc_table_version"] for record in lake.records(GAMES)} == {version}


def test_state_waits_for_the_version_then_is_released(lake: Any, singer: Any) -> None:
    genres = singer.lines("genres_snapshot.singer", version=7)
    # STATE arrives while genres' version is open: it must be held until it completes.
    mixed = [*genres[:5], '{"type": "STATE", "value": {"bookmarks": {"x": 1}}}', *genres[5:]]
    emitted = lake.run(mixed)

    assert emitted[0] == {"bookmarks": {"x": 1}}
    assert lake.manifest(GENRES)["table_version"] == 7


def test_state_is_emitted_only_after_its_records_are_listed(
    local_lake: Any, singer: Any, write_config: Any, tmp_path: Any
) -> None:
    """A real target process: when a STATE line appears, its records are already listed."""
    config = write_config({**local_lake.config, "batch_size_records": 25})
    lines = singer.lines("games_incremental.singer")
    target = singer.start_target(config, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert target.stdin is not None
    assert target.stdout is not None
    try:
        # schema, 25 records, a state, 25 more records: the second batch fills up
        target.stdin.write("\n".join(lines[:52]) + "\n")
        target.stdin.flush()
        state_line = target.stdout.readline()  # blocks until the target emits
        state = json.loads(state_line)
        manifest = local_lake.manifest(GAMES)
        listed_ids = {record["id"] for record in local_lake.records(GAMES)}
        upto = next(
            index
            for index, line in enumerate(lines)
            if json.loads(line)["type"] == "STATE" and json.loads(line)["value"] == state
        )
        needed = {json.loads(line)["record"]["id"] for line in lines[:upto] if '"RECORD"' in line}
        assert needed
        assert needed <= listed_ids
        assert manifest is not None
    finally:
        target.stdin.close()
        target.wait(timeout=60)
    assert target.returncode == 0


def with_property(schema_line: str, name: str) -> str:
    message = json.loads(schema_line)
    message["schema"]["properties"][name] = {"type": ["string", "null"]}
    return json.dumps(message)


def test_a_schema_change_mid_version_keeps_the_open_version(lake: Any, singer: Any) -> None:
    lines = singer.lines("games_full_refresh.singer", version=2_000_000_000_000)
    sent = [json.loads(line)["record"]["id"] for line in lines if '"RECORD"' in line]
    changed = [*lines[:40], with_property(lines[0], "storyline"), *lines[40:]]

    lake.run(changed, batch_size_records=30)

    manifest = lake.manifest(GAMES)
    assert manifest is not None
    assert manifest["table_version"] == 2_000_000_000_000
    assert [record["id"] for record in lake.records(GAMES)] == sent  # both sinks' files


def test_the_same_schema_again_keeps_the_sink_and_its_batch(lake: Any, singer: Any) -> None:
    lines = singer.lines("games_incremental.singer")

    lake.run([*lines[:40], lines[0], *lines[40:]])

    manifest = lake.manifest(GAMES)
    assert manifest is not None
    assert [item["records"] for item in manifest["files"]] == [100]  # one batch, not two


PLATFORMS = "raw/platforms"
FAILING = "three_streams_the_first_fails_in_its_version.singer"


@pytest.mark.parametrize("had_bookmark", [True, False], ids=["with a bookmark", "first run"])
@pytest.mark.fault_matrix(
    fault="stream games fails inside its table version, platforms and genres follow ({id})",
    injected="recorded Singer input (no closing ACTIVATE_VERSION for games)",
    outcome="survived: the other streams land and their state moves; games stays as it was",
    check="emitted states: games' bookmark as when its version opened; games manifest unchanged",
)
def test_a_stream_failing_inside_its_version_holds_back_only_its_own_bookmark(
    lake: Any, singer: Any, had_bookmark: bool
) -> None:
    lake.run(singer.lines("games_incremental.singer"))  # games has a table already
    before = lake.manifest(GAMES)
    lines = singer.lines(FAILING, version=2_000_000_000_000)
    if not had_bookmark:  # the version opened with no games bookmark at all
        first = json.loads(lines[1])
        del first["value"]["bookmarks"]["games"]
        lines[1] = json.dumps(first)
    sent = states_in(lines)
    opened_with = sent[0]["bookmarks"].get("games")

    emitted = lake.run(lines, batch_size_records=20)

    assert emitted, "no state emitted at all"
    for state in emitted:  # games' bookmark never points into its unlisted files
        assert state["bookmarks"].get("games") == opened_with
    final = emitted[-1]["bookmarks"]
    assert final["platforms"] == sent[-1]["bookmarks"]["platforms"]  # moved on
    assert final["platforms"] != sent[0]["bookmarks"]["platforms"]
    assert final["genres"] == {}
    assert ("games" in final) is had_bookmark
    assert lake.manifest(GAMES) == before
    unlisted = {key for key in lake.keys(GAMES) if "/batch-" in key} - {
        item["key"] for item in before["files"]
    }
    assert len(unlisted) == 3  # games' 60 records, stored, never listed
    assert all(lake.status(key) in {"temp", None} for key in unlisted)
    platforms = [json.loads(line) for line in lines if line.startswith('{"type": "RECORD"')]
    assert len(lake.records(PLATFORMS)) == sum(m["stream"] == "platforms" for m in platforms)
    assert lake.manifest(GENRES)["table_version"] == 2_000_000_000_000


def test_a_version_older_than_the_listed_one_is_discarded_and_left_to_the_vacuum(
    lake: Any, singer: Any
) -> None:
    lake.run(singer.lines("games_full_refresh.singer", version=2_000_000_000_000))
    before = lake.manifest(GAMES)

    lake.run(singer.lines("games_full_refresh.singer", version=1_900_000_000_000))

    assert lake.manifest(GAMES) == before  # a slower run cannot roll the table back
    listed = {item["key"] for item in before["files"]}
    discarded = [key for key in lake.keys(GAMES) if "/batch-" in key and key not in listed]
    assert len(discarded) == 1
    assert lake.status(discarded[0]) in {"temp", None}  # never listed: the backstop's tag
    far_later = dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=8)
    assert lake.vacuum(now=far_later).deleted == discarded
