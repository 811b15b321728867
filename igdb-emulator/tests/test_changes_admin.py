"""advance_day semantics (Python API and admin HTTP API) and the rest of the admin routes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from igdb_emulator import Dataset, DayChange, Emulator, EmulatorConfig
from igdb_emulator.changes import advance_day, one_day
from igdb_emulator.pytest_plugin import EmulatorFactory
from igdb_emulator.synth import EMULATOR_EPOCH

if TYPE_CHECKING:
    from conftest import Connect


def test_emulator_clock_starts_at_the_fixed_instant(igdb_emulator: Emulator) -> None:
    assert igdb_emulator.now == EMULATOR_EPOCH == 1795564800  # 2026-11-25T00:00:00Z


def test_advance_day_changes_adds_and_deletes(igdb_emulator_factory: EmulatorFactory) -> None:
    emulator = igdb_emulator_factory(dataset=Dataset.generate(games=3_000, seed=5))
    before = {game["id"]: game for game in emulator.truth("games")}
    day_start = emulator.now
    change = emulator.advance_day(changed=50, added=5, deleted=3, endpoint="games", seed=1)
    after = {game["id"]: game for game in emulator.truth("games")}

    assert emulator.now == day_start + 86_400
    assert (len(change.changed), len(change.added), len(change.deleted)) == (50, 5, 3)
    assert not set(change.deleted) & set(after)
    assert set(change.added) <= set(after)
    assert not set(change.added) & set(before)
    assert min(change.added) > max(before)
    assert len(after) == len(before) + 5 - 3
    for game_id in change.changed:
        old, new = before[game_id], after[game_id]
        assert day_start <= new["updated_at"] < day_start + 86_400
        assert new["checksum"] != old["checksum"]
        assert next(iter(new)) == "id"
    untouched = set(before) - set(change.changed) - set(change.deleted)
    assert all(after[game_id] == before[game_id] for game_id in untouched)
    for game_id in change.added:
        assert day_start <= after[game_id]["created_at"] <= after[game_id]["updated_at"]


def test_added_games_children_exist_when_child_tables_were_built(
    igdb_emulator_factory: EmulatorFactory,
) -> None:
    emulator = igdb_emulator_factory(dataset=Dataset.generate(games=500, seed=2))
    emulator.truth("covers")  # build the child table first
    change = emulator.advance_day(changed=0, added=20, deleted=0, seed=4)
    covers = {cover["id"] for cover in emulator.truth("covers")}
    for game in emulator.truth("games"):
        if game["id"] in change.added and "cover" in game:
            assert game["cover"] in covers


def test_incremental_query_sees_exactly_the_day(
    igdb_emulator_factory: EmulatorFactory, connect: Connect
) -> None:
    emulator = igdb_emulator_factory(config=EmulatorConfig.unthrottled())
    client = connect(emulator)
    day_start = emulator.now
    change = emulator.advance_day(changed=30, added=4, deleted=2, seed=9)
    reply = client.api(
        "games", f"fields id; where updated_at >= {day_start}; sort id asc; limit 500;"
    )
    assert [record["id"] for record in reply.json()] == sorted(change.changed + change.added)


def test_advance_day_is_deterministic() -> None:
    changes: list[DayChange] = []
    games_after: list[list[bytes]] = []
    for _ in range(2):
        dataset = Dataset.generate(games=1_000, seed=3)
        changes.append(advance_day(dataset, "games", changed=10, added=2, deleted=1, seed=8))
        games_after.append(list(dataset.table("games").snapshot.blobs))
    assert changes[0] == changes[1]
    assert games_after[0] == games_after[1]


def test_advance_day_rejects_bad_input(igdb_emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="unknown endpoint"):
        igdb_emulator.advance_day(changed=1, endpoint="gamez")
    with pytest.raises(ValueError, match="cannot change"):
        igdb_emulator.advance_day(changed=10_000, endpoint="games")


def test_admin_api(igdb_emulator: Emulator, connect: Connect) -> None:
    client = connect(igdb_emulator)
    health = client.admin("GET", "health")
    assert health.status == 200
    assert health.json()["status"] == "ok"

    change = client.admin(
        "POST",
        "advance-day",
        {"changed": 5, "added": 1, "deleted": 1, "endpoint": "games", "seed": 2},
    )
    assert change.status == 200
    assert len(change.json()["changed"]) == 5

    assert client.admin("GET", "count/games").json() == {"count": len(igdb_emulator.truth("games"))}
    assert client.admin("GET", "count/gamez").status == 400

    truth = client.admin("GET", "truth/games")
    assert truth.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in truth.body.splitlines()]
    assert lines == igdb_emulator.truth("games")

    assert (
        client.admin("POST", "faults", {"kind": "server_error", "count": 1, "status": 500}).status
        == 200
    )
    assert client.api("genres", "fields id;").status == 500
    assert client.admin("POST", "faults", {"kind": "rate_limit", "count": 3}).status == 200
    assert client.admin("DELETE", "faults").status == 200
    assert client.api("genres", "fields id;").status == 200

    logged = client.admin("GET", "requests").json()
    assert [entry["endpoint"] for entry in logged] == ["oauth2/token", "genres", "genres"]
    assert client.admin("DELETE", "requests").status == 200
    assert client.admin("GET", "requests").json() == []


def test_admin_errors_are_one_line_and_clear(igdb_emulator: Emulator, connect: Connect) -> None:
    client = connect(igdb_emulator)
    bad_kind = client.admin("POST", "faults", {"kind": "explode"})
    assert bad_kind.status == 400
    assert "explode" in bad_kind.json()["error"]
    bad_field = client.admin("POST", "advance-day", {"changd": 3})
    assert bad_field.status == 400
    assert "changd" in bad_field.json()["error"]
    assert client.admin("GET", "truth/gamez").status == 400
    assert client.admin("GET", "nothing").status == 404
    assert igdb_emulator.request_log == []  # admin requests are not logged


def test_one_day_changes_several_endpoints_within_one_day(
    igdb_emulator_factory: EmulatorFactory, connect: Connect
) -> None:
    emulator = igdb_emulator_factory(dataset=Dataset.generate(games=500, seed=4))
    start = emulator.now
    changes = {"games": {"changed": 4, "added": 2}, "characters": {"changed": 2}}
    done = connect(emulator).admin("POST", "one-day", {"changes": changes, "seed": 3}).json()

    assert emulator.now == start + 86_400  # one day, however many endpoints
    assert [change["endpoint"] for change in done] == ["games", "characters"]
    assert [len(change["changed"]) for change in done] == [4, 2]
    for change in done:
        assert (change["day_start"], change["day_end"]) == (start, start + 86_400)
        by_id = {r["id"]: r for r in emulator.truth(change["endpoint"])}
        for record_id in change["changed"] + change["added"]:
            assert start <= by_id[record_id]["updated_at"] < start + 86_400


def test_one_day_applies_nothing_unless_every_change_is_possible() -> None:
    dataset = Dataset.generate(games=200, seed=4)
    before = list(dataset.table("games").records())
    with pytest.raises(ValueError, match="covers records have no updated_at"):
        one_day(dataset, {"games": {"changed": 3}, "covers": {"changed": 1}}, seed=0)
    assert list(dataset.table("games").records()) == before
    assert dataset.now == EMULATOR_EPOCH
