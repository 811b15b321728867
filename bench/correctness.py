"""Every run ends here: dim_games (the Parquet mart) equals the oracle on the source's truth.

The oracle is the end-to-end tests' own (`tests/support/dim_games.py`). At
375,000 games the truth is read as a stream and compared in chunks of game ids,
so neither side is ever wholly in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb

from tests.support.dim_games import LOOKUP_STREAMS, assert_rows_equal, expected_dim_games

INVOLVED_COMPANY_FIELDS = ("id", "updated_at", "company", "game", "developer", "publisher")
CHUNK_GAMES = 25_000

Truth = Callable[[str], Iterable[dict[str, Any]]]  # endpoint -> its records, sorted by id


@dataclass(frozen=True)
class Correctness:
    passed: bool
    games: int
    detail: str


def _chunks(records: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _actual_rows(
    connection: duckdb.DuckDBPyConnection, parquet: Path, first: int, last: int
) -> dict[int, dict[str, Any]]:
    rows = connection.execute(
        "select * from read_parquet(?) where game_id between ? and ?", [str(parquet), first, last]
    )
    columns = [d[0] for d in rows.description]
    return {row[0]: dict(zip(columns, row, strict=True)) for row in rows.fetchall()}


def check_dim_games(parquet: Path, truth: Truth, chunk_games: int = CHUNK_GAMES) -> Correctness:
    """Compare row for row; the result names the first difference."""
    if not parquet.is_file():
        return Correctness(False, 0, f"no mart at {parquet}")
    lookups = {stream: list(truth(stream)) for stream in LOOKUP_STREAMS}
    roles_by_game: dict[int, list[dict[str, Any]]] = {}
    for record in truth("involved_companies"):
        kept = {key: record[key] for key in INVOLVED_COMPANY_FIELDS if key in record}
        roles_by_game.setdefault(record.get("game", -1), []).append(kept)

    games = 0
    with duckdb.connect() as connection:
        for chunk in _chunks(truth("games"), chunk_games):
            games += len(chunk)
            involved = [ic for game in chunk for ic in roles_by_game.get(game["id"], [])]
            expected = expected_dim_games(
                {"games": chunk, "involved_companies": involved, **lookups}
            )
            actual = _actual_rows(connection, parquet, chunk[0]["id"], chunk[-1]["id"])
            try:
                assert_rows_equal(actual, expected)
            except AssertionError as difference:
                detail = f"games {chunk[0]['id']}..{chunk[-1]['id']}: {difference}"
                return Correctness(False, games, detail.splitlines()[0][:500])
        row = connection.execute("select count(*) from read_parquet(?)", [str(parquet)]).fetchone()
    rows = int(row[0]) if row else 0
    if rows != games:
        return Correctness(False, games, f"dim_games has {rows} rows, the source {games} games")
    return Correctness(True, games, f"{games} rows equal to the oracle")
