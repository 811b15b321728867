"""The end-of-run check: it passes on the right mart and names what is wrong otherwise."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from igdb_emulator import Dataset

from bench.correctness import check_dim_games
from tests.support.dim_games import LOOKUP_STREAMS, expected_dim_games

DATASET = Dataset.samples()  # the real samples: 600 games


def truth(endpoint: str) -> list[dict[str, Any]]:
    return list(DATASET.table(endpoint).records())


def _sql_type(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if kinds <= {int}:
        return "BIGINT" if present else "VARCHAR"
    if kinds <= {int, float}:
        return "DOUBLE"
    if kinds == {dt.datetime}:
        return "TIMESTAMP"
    if kinds == {list}:
        return "VARCHAR[]"
    return "VARCHAR"


def write_mart(path: Path, rows: list[dict[str, Any]]) -> Path:
    """dim_games as Parquet with the oracle's columns, as the dbt model writes it."""
    types = {c: _sql_type([row[c] for row in rows]) for c in rows[0]}
    jsonl = path.with_suffix(".jsonl")
    jsonl.write_text("".join(json.dumps(row, default=str) + "\n" for row in rows))
    columns = "{" + ", ".join(f"'{c}': '{t}'" for c, t in types.items()) + "}"
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select * from read_json('{jsonl}', columns = {columns}))"
            f" to '{path}' (format parquet)"
        )
    return path


@pytest.fixture
def oracle_rows() -> list[dict[str, Any]]:
    streams = {s: truth(s) for s in ("games", "involved_companies", *LOOKUP_STREAMS)}
    return list(expected_dim_games(streams).values())


def test_the_right_mart_passes_across_chunks(tmp_path: Path, oracle_rows: list[Any]) -> None:
    mart = write_mart(tmp_path / "dim_games.parquet", oracle_rows)

    result = check_dim_games(mart, truth, chunk_games=70)

    assert result.passed, result.detail
    assert result.games == 600


def test_a_wrong_value_fails_and_names_the_game(tmp_path: Path, oracle_rows: list[Any]) -> None:
    oracle_rows[123]["name"] = "Not The Name"
    mart = write_mart(tmp_path / "dim_games.parquet", oracle_rows)

    result = check_dim_games(mart, truth, chunk_games=70)

    assert not result.passed
    assert str(oracle_rows[123]["game_id"]) in result.detail
    assert "name" in result.detail


def test_a_missing_game_fails(tmp_path: Path, oracle_rows: list[Any]) -> None:
    mart = write_mart(tmp_path / "dim_games.parquet", oracle_rows[:-1])

    assert not check_dim_games(mart, truth, chunk_games=70).passed


def test_a_duplicated_row_fails_on_the_count(tmp_path: Path, oracle_rows: list[Any]) -> None:
    mart = write_mart(tmp_path / "dim_games.parquet", [*oracle_rows, oracle_rows[5]])

    result = check_dim_games(mart, truth, chunk_games=70)

    assert not result.passed
    assert result.detail == "dim_games has 601 rows, the source 600 games"


def test_no_mart_fails(tmp_path: Path) -> None:
    result = check_dim_games(tmp_path / "absent.parquet", truth)

    assert not result.passed
    assert "no mart" in result.detail
