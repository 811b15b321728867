"""The oracle: dim_games computed in Python straight from source records.

Independent of the SQL it checks. Used by the transform tests (records written
to a lake by hand) and the end-to-end tests (the emulator's truth).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

Records = list[dict[str, Any]]
Streams = dict[str, Records]

# The lookups dim_games resolves ids through, besides games and involved_companies.
LOOKUP_STREAMS = (
    "platforms", "genres", "game_modes", "themes", "player_perspectives",
    "companies", "covers", "game_types", "game_statuses",
)  # fmt: skip


def latest_by_id(*loads: Records) -> dict[int, dict[str, Any]]:
    """Latest record per id over loads in load order: newest updated_at, then latest load."""
    latest: dict[int, tuple[tuple[int, int], dict[str, Any]]] = {}
    order = 0
    for records in loads:
        for record in records:
            order += 1
            rank = (record.get("updated_at", -1), order)
            current = latest.get(record["id"])
            if current is None or rank > current[0]:
                latest[record["id"]] = (rank, record)
    return {record_id: record for record_id, (_, record) in latest.items()}


def _utc(seconds: int | None) -> dt.datetime | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


def expected_dim_games(streams: Streams) -> dict[int, dict[str, Any]]:
    """dim_games computed in Python from the (deduplicated) source records."""
    games = latest_by_id(streams["games"])
    lookups = {
        name: {r["id"]: r for r in latest_by_id(streams.get(name, [])).values()}
        for name in LOOKUP_STREAMS
    }

    def names(ids: list[int] | None, lookup: str, field_name: str = "name") -> list[str]:
        table = lookups[lookup]
        return sorted({table[i][field_name] for i in ids or [] if i in table})

    roles: dict[int, dict[str, set[str]]] = {}
    for ic in latest_by_id(streams.get("involved_companies", [])).values():
        company = lookups["companies"].get(ic.get("company"))
        if company is None or ic.get("game") is None:
            continue
        game_roles = roles.setdefault(ic["game"], {"developer": set(), "publisher": set()})
        for role in ("developer", "publisher"):
            if ic.get(role):
                game_roles[role].add(company["name"])

    expected = {}
    for game_id, g in games.items():
        game_type = g.get("game_type", g.get("category"))
        game_status = g.get("game_status", g.get("status"))
        cover = lookups["covers"].get(g.get("cover"))
        first_release = _utc(g.get("first_release_date"))
        expected[game_id] = {
            "game_id": game_id,
            "name": g.get("name"),
            "slug": g.get("slug"),
            "summary": g.get("summary"),
            "url": g.get("url"),
            "cover_id": g.get("cover"),
            "cover_image_id": cover["image_id"] if cover else None,
            "first_released_at": first_release,
            "release_year": first_release.year if first_release else None,
            "created_at": _utc(g.get("created_at")),
            "updated_at": _utc(g.get("updated_at")),
            "game_type_id": game_type,
            "game_type": lookups["game_types"].get(game_type, {}).get("type"),
            "game_status_id": game_status,
            "game_status": lookups["game_statuses"].get(game_status, {}).get("status"),
            "parent_game_id": g.get("parent_game"),
            "version_parent_game_id": g.get("version_parent"),
            "rating": g.get("rating"),
            "rating_count": g.get("rating_count"),
            "aggregated_rating": g.get("aggregated_rating"),
            "aggregated_rating_count": g.get("aggregated_rating_count"),
            "total_rating": g.get("total_rating"),
            "total_rating_count": g.get("total_rating_count"),
            "hypes": g.get("hypes"),
            "platform_names": names(g.get("platforms"), "platforms"),
            "genre_names": names(g.get("genres"), "genres"),
            "game_mode_names": names(g.get("game_modes"), "game_modes"),
            "theme_names": names(g.get("themes"), "themes"),
            "player_perspective_names": names(g.get("player_perspectives"), "player_perspectives"),
            "developer_names": sorted(roles.get(game_id, {}).get("developer", set())),
            "publisher_names": sorted(roles.get(game_id, {}).get("publisher", set())),
        }
    return expected


def read_dim_games(parquet: Path | str) -> dict[int, dict[str, Any]]:
    """The written Parquet mart (the product), keyed by game_id; no game_id may repeat."""
    with duckdb.connect() as connection:
        rows = connection.execute("select * from read_parquet(?)", [str(parquet)])
        columns = [d[0] for d in rows.description]
        fetched = rows.fetchall()
    games = {row[0]: dict(zip(columns, row, strict=True)) for row in fetched}
    assert len(games) == len(fetched), f"{len(fetched) - len(games)} duplicate game_id rows"
    return games


def assert_rows_equal(
    actual: dict[int, dict[str, Any]], expected: dict[int, dict[str, Any]]
) -> None:
    """Row for row, column for column, with a readable first difference."""
    assert sorted(actual) == sorted(expected), "game ids differ"
    for game_id, row in expected.items():
        got = {k: actual[game_id].get(k) for k in row}
        for column, value in row.items():
            if isinstance(value, float) and got[column] is not None:
                assert got[column] == pytest.approx(value), (game_id, column)
            else:
                assert got[column] == value, (game_id, column, got[column], value)
