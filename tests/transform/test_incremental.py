"""Deduplication, stateless incremental merges and full refreshes of dim_games.

Raw layers come from the IGDB emulator: its truth is what a full extraction
returns, and advance_day() is one day of changes at the source.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import igdb_emulator


def all_streams(emulator: Any) -> dict[str, list[dict[str, Any]]]:
    return {ep: copy.deepcopy(emulator.truth(ep)) for ep in emulator_endpoints(emulator)}


def emulator_endpoints(emulator: Any) -> tuple[str, ...]:
    return tuple(igdb_emulator.Dataset.generate(games=1, seed=0).endpoints)


def load_day(
    lake: Any, before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]
) -> None:
    """What one daily extraction loads: changed and new records of incremental
    streams (plus the bookmark's record, sent again), a full snapshot of the rest."""
    lake.tick(days=1)
    for stream, records in after.items():
        if stream not in lake.incremental_streams:
            lake.write_batch(stream, records)
            continue
        seen = {r["id"]: r for r in before.get(stream, [])}
        new = [r for r in records if seen.get(r["id"]) != r]
        lake.write_batch(stream, [*new, records[0]])


def state_log(project: Any) -> list[str]:
    log = (project.workdir / "logs" / "dbt.log").read_text()
    return [
        line.split("igdb: games state: ", 1)[1]
        for line in log.splitlines()
        if "igdb: games state: " in line
    ]


def test_duplicates_resolve_to_latest_updated_at_then_latest_load(
    tmp_path: Path, igdb: Any, duckdb_connection: Any
) -> None:
    lake, project = igdb.local_project(tmp_path)
    streams = igdb.sample_streams()
    lake.write_streams(streams)
    base = streams["games"][0]
    newer = {**base, "name": "newer updated_at", "updated_at": base["updated_at"] + 10}
    older_but_later = {**base, "name": "older updated_at", "updated_at": base["updated_at"] + 5}
    same_time_first = {
        **base,
        "name": "same updated_at, loaded first",
        "updated_at": base["updated_at"] + 20,
    }
    same_time_last = {**same_time_first, "name": "same updated_at, loaded last"}
    other = streams["games"][1]
    other_first = {**other, "name": "first line", "updated_at": other["updated_at"] + 1}
    other_last = {**other, "name": "last line", "updated_at": other["updated_at"] + 1}

    lake.write_batch("games", [newer])
    lake.write_batch("games", [older_but_later])
    project.invoke("run")
    assert project.dim_games(duckdb_connection)[base["id"]]["name"] == "newer updated_at"

    lake.write_batch("games", [same_time_first, other_first, other_last])
    lake.write_batch("games", [same_time_last])
    project.invoke("run")
    games = project.dim_games(duckdb_connection)
    assert games[base["id"]]["name"] == "same updated_at, loaded last"
    assert games[other["id"]]["name"] == "last line"
    assert len(games) == len(streams["games"])


def test_incremental_days_equal_a_full_rebuild_and_the_source(
    tmp_path: Path, igdb: Any, duckdb_connection: Any
) -> None:
    emulator = igdb_emulator.Emulator(igdb_emulator.Dataset.generate(games=1500, seed=11))
    lake, project = igdb.local_project(tmp_path / "incremental")
    lake.write_streams(all_streams(emulator), batch_size=500)
    project.invoke("run")
    assert state_log(project)[-1].startswith("rebuild (no previous state")

    for day in range(1, 3):
        before = all_streams(emulator)
        emulator.advance_day(changed=30, added=15, seed=day)
        load_day(lake, before, all_streams(emulator))
        project.invoke("run")
        assert state_log(project)[-1].startswith("merge"), state_log(project)[-1]
        assert "1 of " in state_log(project)[-1]  # only the new file is read

        incremental = project.dim_games(duckdb_connection)
        igdb.assert_rows_equal(incremental, igdb.expected_dim_games(all_streams(emulator)))

    rebuild = igdb.dbt_project(lake.url, str(tmp_path / "rebuild-marts"), project.workdir)
    rebuild.invoke("run", "--full-refresh")
    assert state_log(rebuild)[-1].startswith("rebuild (full refresh requested")
    assert project.dim_games(duckdb_connection) == rebuild.dim_games(duckdb_connection)


def test_a_new_table_version_rebuilds_and_drops_deleted_games(
    tmp_path: Path, igdb: Any, duckdb_connection: Any
) -> None:
    emulator = igdb_emulator.Emulator(igdb_emulator.Dataset.generate(games=500, seed=5))
    lake, project = igdb.local_project(tmp_path)
    lake.write_streams(all_streams(emulator))
    project.invoke("run")

    change = emulator.advance_day(changed=5, deleted=7, seed=1)
    lake.tick(days=1)
    lake.write_batch(
        "games", copy.deepcopy(emulator.truth("games")), table_version=2_000_000_000_000
    )
    project.invoke("run")

    assert "table_version changed" in state_log(project)[-1]
    games = project.dim_games(duckdb_connection)
    assert not set(change.deleted) & set(games)
    igdb.assert_rows_equal(games, igdb.expected_dim_games(all_streams(emulator)))
