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


def full_rebuild(igdb: Any, project: Any, mart_root: Path) -> Any:
    """The same lake built from scratch (`dbt run --full-refresh`) into another mart root."""
    rebuild = igdb.dbt_project(project.lake_url, str(mart_root), project.workdir)
    rebuild.invoke("run", "--full-refresh")
    assert state_log(rebuild)[-1].startswith("rebuild (full refresh requested")
    return rebuild


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

    rebuild = full_rebuild(igdb, project, tmp_path / "rebuild-marts")
    assert project.dim_games(duckdb_connection) == rebuild.dim_games(duckdb_connection)


def test_on_equal_updated_at_a_later_run_s_file_wins_as_in_a_full_rebuild(
    tmp_path: Path, igdb: Any, duckdb_connection: Any
) -> None:
    """The increment's files keep their manifest positions: the state's record
    from file 2 loses to the same updated_at in file 3, read by the next run."""
    lake, project = igdb.local_project(tmp_path / "incremental")
    streams = igdb.sample_streams()
    lake.write_streams(streams)
    game = {**streams["games"][0], "updated_at": streams["games"][0]["updated_at"] + 10}
    lake.write_batch("games", [{**game, "name": "second file"}])
    project.invoke("run")
    lake.write_batch("games", [{**game, "name": "third file"}])
    project.invoke("run")

    assert state_log(project)[-1].startswith("merge"), state_log(project)[-1]
    assert project.dim_games(duckdb_connection)[game["id"]]["name"] == "third file"
    rebuild = full_rebuild(igdb, project, tmp_path / "rebuild-marts")
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


def parquet_row_groups(connection: Any, path: Path) -> list[int]:
    """Rows per row group of a Parquet file."""
    rows = connection.execute(
        "select any_value(row_group_num_rows) from parquet_metadata(?) group by row_group_id",
        [str(path)],
    ).fetchall()
    return [count for (count,) in rows]


def test_marts_are_written_in_small_row_groups_and_an_older_state_is_rebuilt(
    tmp_path: Path, igdb: Any, duckdb_connection: Any
) -> None:
    """Readers hold a row group per thread in memory: the state and dim_games are
    written in row groups of about igdb_parquet_row_group_size rows. A state
    without this build's format mark (an older build's, in 122,880-row groups)
    is rebuilt, not merged."""
    emulator = igdb_emulator.Emulator(igdb_emulator.Dataset.generate(games=5000, seed=3))
    lake, project = igdb.local_project(tmp_path)
    lake.write_streams(all_streams(emulator), batch_size=2500)
    state = tmp_path / "marts" / "_state" / "games.parquet"
    small_row_groups = ("--vars", "{igdb_parquet_row_group_size: 2048}")

    project.invoke("run", *small_row_groups)
    for mart in (state, tmp_path / "marts" / "dim_games" / "dim_games.parquet"):
        assert max(parquet_row_groups(duckdb_connection, mart)) <= 2 * 2048

    duckdb_connection.execute(f"copy (from '{state}') to '{state}.old' (format parquet)")
    Path(f"{state}.old").replace(state)
    project.invoke("run", *small_row_groups)
    assert state_log(project)[-1].startswith(
        "rebuild (the state was written in format 1, this build writes format 2"
    ), state_log(project)[-1]
    project.invoke("run", *small_row_groups)
    assert state_log(project)[-1].startswith("merge"), state_log(project)[-1]
    igdb.assert_rows_equal(
        project.dim_games(duckdb_connection), igdb.expected_dim_games(all_streams(emulator))
    )
