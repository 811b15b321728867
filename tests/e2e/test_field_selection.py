"""A property deselected in Meltano's `select` is not asked for, not landed, and NULL in
staging (issue "all of IGDB": field selection that reaches the request)."""

from __future__ import annotations

import json
import re

import duckdb

from tests.e2e.conftest import Pipeline
from tests.support.lake import listed_records, source_fields

# games narrowed to its name (id and updated_at come automatically); the lookups
# dim_games requires, whole.
SELECT = ["games.name", "platforms.*", "genres.*", "game_modes.*", "themes.*"]
SELECT += ["player_perspectives.*"]


def blocks(endpoint: str, body: str) -> list[tuple[str, str]]:
    """(endpoint, query) of each block of a multiquery, or the request itself."""
    if endpoint != "multiquery":
        return [(endpoint, body.strip())]
    return re.findall(r'query ([\w/]+) "[^"]*" \{ (.*?) \};', body)


def test_a_deselected_property_leaves_the_request_the_lake_and_staging(
    dev_pipeline: Pipeline,
) -> None:
    dev_pipeline.meltano(
        "run",
        "tap-igdb",
        "target-s3",
        "dbt-duckdb:run",
        env={"TAP_IGDB__SELECT": json.dumps(SELECT)},
    )

    games_pages: list[str] = []
    other_pages: list[str] = []
    for request in dev_pipeline.emulator.request_log:
        for endpoint, body in blocks(request.endpoint, request.body):
            if re.search(r"sort id asc; limit \d\d+;", body):  # a page, not a probe
                (games_pages if endpoint == "games" else other_pages).append(body)
    assert games_pages, "no games page was requested"
    assert all(body.startswith("fields id,name,updated_at;") for body in games_pages)
    assert all(body.startswith("fields *;") for body in other_pages)  # wholly selected

    games = [source_fields(record) for record in listed_records(dev_pipeline.lake, "games")]
    assert {tuple(sorted(record)) for record in games} == {("id", "name", "updated_at")}
    by_id = {game["id"]: game for game in dev_pipeline.emulator.truth("games")}
    assert all(record["name"] == by_id[record["id"]]["name"] for record in games)

    database = str(dev_pipeline.workdir / "igdb.duckdb")
    with duckdb.connect(database, read_only=True) as connection:
        staged = connection.execute(
            "select count(*), count(game_name), count(summary), count(cover_id)"
            " from stg_igdb__games"
        ).fetchone()
    assert staged == (len(by_id), len(by_id), 0, 0)
    assert len(dev_pipeline.dim_games()) == len(by_id)
