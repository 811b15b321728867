"""Faults of the source itself: records changing while a reader pages, schema drift.

Unlike the transport faults (test_limits_faults.py), these keep answering 200: the
data changes under the reader, or arrives with a field the reader does not know or of
a type it does not expect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from igdb_emulator import Dataset, Emulator, EmulatorConfig, Fault
from igdb_emulator.pytest_plugin import EmulatorFactory

if TYPE_CHECKING:
    from conftest import Client, Connect

NEW_VALUE = {"kind": "surprise", "values": [1, 2.5, "x"], "flag": True}


@pytest.fixture
def emu(igdb_emulator_factory: EmulatorFactory) -> Emulator:
    return igdb_emulator_factory(Dataset.generate(games=300, seed=4), EmulatorConfig.unthrottled())


def by_id(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {record["id"]: record for record in records}


def keyset_read(client: Client, endpoint: str, limit: int, where: str = "") -> list[Any]:
    """Read `endpoint` as the tap does: `id > last; sort id asc`, page after page."""
    records: list[Any] = []
    last = -1
    while True:
        condition = f"{where} & id > {last}" if where else f"id > {last}"
        page = client.api(endpoint, f"fields *; where {condition}; sort id asc; limit {limit};")
        assert page.status == 200, page.body
        records += page.json()
        if len(page.json()) < limit:
            return records
        last = records[-1]["id"]


# --- new fields -------------------------------------------------------------------------


def test_a_new_field_is_served_on_every_full_record_until_cleared(
    emu: Emulator, connect: Connect
) -> None:
    client = connect(emu)
    before = emu.truth("games")
    emu.faults.add(Fault.new_field("brand_new_field", NEW_VALUE, endpoint="games"))

    served = keyset_read(client, "games", limit=100)
    assert served == [{**record, "brand_new_field": NEW_VALUE} for record in before]
    assert list(served[0])[-1] == "brand_new_field"  # the other keys keep their order
    assert emu.truth("games") == served  # the truth is what `fields *` returns
    named = client.api("games", "fields name; limit 3;").json()
    assert all("brand_new_field" not in record for record in named)  # not asked for
    assert all("brand_new_field" not in r for r in client.api("genres", "fields *;").json())
    multi = client.api("multiquery", 'query games "g" { fields *; limit 2; };').json()
    assert all(record["brand_new_field"] == NEW_VALUE for record in multi[0]["result"])

    emu.faults.clear()
    assert keyset_read(client, "games", limit=100) == before


# --- type changes -----------------------------------------------------------------------


def test_a_type_change_applies_to_the_chosen_records_only(emu: Emulator, connect: Connect) -> None:
    client = connect(emu)
    before = by_id(emu.truth("games"))
    rated = [game_id for game_id, game in before.items() if "rating" in game][:2]
    emu.faults.add(Fault.change_type("rating", "string", endpoint="games", ids=rated))

    served = by_id(keyset_read(client, "games", limit=100))
    for game_id, game in served.items():
        if game_id in rated:
            assert game["rating"] == str(before[game_id]["rating"])
            assert {**game, "rating": before[game_id]["rating"]} == before[game_id]
        else:
            assert game == before[game_id]
    assert by_id(emu.truth("games")) == served

    emu.faults.clear()
    assert by_id(keyset_read(client, "games", limit=100)) == before


def test_ids_become_objects_as_if_expanded_and_all_records_change_without_ids(
    emu: Emulator, connect: Connect
) -> None:
    client = connect(emu)
    before = by_id(emu.truth("games"))
    emu.faults.add(Fault.change_type("cover", "object", endpoint="games"))
    emu.faults.add(Fault.change_type("platforms", "object", endpoint="games"))

    served = by_id(keyset_read(client, "games", limit=100))
    covered = [game_id for game_id, game in before.items() if "cover" in game]
    assert covered
    for game_id in covered:
        assert served[game_id]["cover"] == {"id": before[game_id]["cover"]}
    for game_id, game in before.items():
        expected = [{"id": platform} for platform in game.get("platforms", [])]
        assert served[game_id].get("platforms", []) == expected
    plain = client.api("games", f"fields cover; where id = {covered[0]};").json()
    assert plain == [{"id": covered[0], "cover": {"id": before[covered[0]]["cover"]}}]


# --- records changing while a reader pages ----------------------------------------------


def test_records_change_after_the_nth_read_on_both_sides_of_a_keyset_reader(
    emu: Emulator, connect: Connect
) -> None:
    client = connect(emu)
    before = by_id(emu.truth("games"))
    start = emu.now
    emu.faults.add(Fault.change_during_read(after=1, changed=4, added=2, seconds=60))

    assert client.api("genres", "fields *;").status == 200  # other endpoints do not count
    assert client.api("games/count", "").status == 200  # probes serve no page of records
    assert client.api("games", "fields updated_at; sort updated_at desc; limit 1;").status == 200
    assert emu.truth("games") == list(before.values())
    served = keyset_read(client, "games", limit=100)
    after = by_id(emu.truth("games"))

    ids = sorted(before)
    changed = {game_id for game_id in before if after[game_id] != before[game_id]}
    added = set(after) - set(before)
    assert changed == {*ids[:2], *ids[-2:]}  # two already passed, two not yet reached
    assert len(added) == 2
    assert min(added) > max(before)
    for game_id in changed | added:
        assert start <= after[game_id]["updated_at"] < start + 60
    assert emu.now == start + 60
    assert not emu.faults.pending()  # it fired once
    # The first page was answered before the change; later pages after it.
    reader = by_id(served)
    assert [reader[i] for i in ids[:2]] == [before[i] for i in ids[:2]]
    assert [reader[i] for i in ids[-2:]] == [after[i] for i in ids[-2:]]
    assert added <= set(reader)


def test_the_records_changed_behind_the_reader_come_from_the_page_it_just_read(
    emu: Emulator, connect: Connect
) -> None:
    before = by_id(emu.truth("games"))
    ids = sorted(before)
    emu.faults.add(Fault.change_during_read(after=1, changed=4, added=0))

    page = connect(emu).api("games", f"fields *; where id > {ids[149]}; sort id asc; limit 20;")

    served = [record["id"] for record in page.json()]
    after = by_id(emu.truth("games"))
    changed = {game_id for game_id in before if after[game_id] != before[game_id]}
    assert changed == {*served[:2], *ids[-2:]}


def test_an_updated_at_ordered_reader_skips_what_a_keyset_reader_does_not(
    igdb_emulator_factory: EmulatorFactory, connect: Connect
) -> None:
    """The hazard the fault models: a record moving to a page the reader already passed."""

    def offset_read_by_updated_at(emu: Emulator) -> list[Any]:
        client, records, offset = connect(emu), [], 0
        while page := client.api(
            "games", f"fields *; sort updated_at desc; limit 50; offset {offset};"
        ).json():
            records += page
            offset += 50
        return records

    runs = {}
    for reader in ("updated_at desc", "keyset"):
        emu = igdb_emulator_factory(
            Dataset.generate(games=300, seed=4), EmulatorConfig.unthrottled()
        )
        oldest = min(emu.truth("games"), key=lambda game: game["updated_at"])["id"]
        emu.faults.add(Fault.change_during_read(after=1, ids=[oldest], seconds=60))
        if reader == "keyset":
            served = keyset_read(connect(emu), "games", limit=50)
        else:
            served = offset_read_by_updated_at(emu)
        runs[reader] = ({r["id"] for r in served}, {g["id"] for g in emu.truth("games")})

    read, source = runs["updated_at desc"]
    assert source - read  # the edited record jumped to page 1, one record fell off the end
    read, source = runs["keyset"]
    assert read == source


def test_change_during_read_counts_a_multiquery_as_one_page(
    emu: Emulator, connect: Connect
) -> None:
    client = connect(emu)
    emu.faults.add(Fault.change_during_read(after=2, changed=1))
    body = 'query games "a" { fields *; limit 5; };\nquery games "b" { fields id; limit 1; };\n'

    client.api("multiquery", body)
    assert emu.faults.pending()
    client.api("multiquery", body)
    assert not emu.faults.pending()


def test_change_during_read_is_checked_when_added(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="300 records"):
        emu.faults.add(Fault.change_during_read(after=1, changed=301))
    with pytest.raises(ValueError, match="no updated_at"):
        emu.faults.add(Fault.change_during_read(after=1, changed=1, endpoint="covers"))
    with pytest.raises(ValueError, match="not in games"):
        emu.faults.add(Fault.change_during_read(after=1, ids=[10**9]))


# --- constructors and the admin API -----------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Fault.change_during_read(after=0), "after"),
        (lambda: Fault.change_during_read(changed=-1), "changed"),
        (lambda: Fault.change_during_read(seconds=0), "seconds"),
        (lambda: Fault.change_during_read(endpoint="gamez"), "gamez"),
        (lambda: Fault.change_type("rating", "uuid", endpoint="games"), "uuid"),  # type: ignore[arg-type]  # a kind the API refuses, on purpose
        (lambda: Fault.change_type("ratingz", "string", endpoint="games"), "ratingz"),
        (lambda: Fault.change_type("id", "string", endpoint="games"), "id"),
        (lambda: Fault.new_field("name", 1, endpoint="games"), "already"),
    ],
)
def test_constructors_reject_bad_arguments(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_source_faults_through_the_admin_api(emu: Emulator, connect: Connect) -> None:
    client = connect(emu)
    before = by_id(emu.truth("games"))
    rated = min(game_id for game_id, game in before.items() if "rating" in game)
    specs: list[dict[str, object]] = [
        {"kind": "new_field", "field": "brand_new_field", "value": NEW_VALUE},
        {"kind": "change_type", "field": "rating", "to": "string", "ids": [rated]},
        {"kind": "change_during_read", "after": 1, "changed": 2, "added": 1, "seconds": 30},
    ]
    for spec in specs:
        posted = client.admin("POST", "faults", spec)
        assert posted.status == 200, posted.body
    assert [fault["kind"] for fault in posted.json()["pending"]] == [s["kind"] for s in specs]

    served = client.api("games", f"fields *; where id = {rated};").json()[0]
    assert served["brand_new_field"] == NEW_VALUE
    assert served["rating"] == str(before[rated]["rating"])
    assert len(emu.truth("games")) == len(before) + 1  # the change fired after that read

    assert client.admin("DELETE", "faults").status == 200
    assert "brand_new_field" not in client.api("games", "fields *; limit 1;").json()[0]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "change_type", "field": "rating", "to": "uuid"}, "uuid"),
        ({"kind": "change_type", "field": "rating"}, "to"),
        ({"kind": "new_field", "value": 1}, "field"),
        ({"kind": "change_during_read", "after": "2"}, "after"),
        ({"kind": "change_during_read", "status": 500}, "status"),
        ({"kind": "rate_limit", "field": "x"}, "field"),
        ({"kind": "change_type", "field": "rating", "to": "string", "ids": [1, "2"]}, "ids"),
    ],
)
def test_admin_api_rejects_bad_source_fault_specs(
    emu: Emulator, connect: Connect, spec: dict[str, object], message: str
) -> None:
    reply = connect(emu).admin("POST", "faults", spec)
    assert reply.status == 400
    assert message in reply.json()["error"]
    assert not emu.faults.pending()


def test_existing_specs_keep_working() -> None:
    assert Fault.from_spec({"kind": "expire_tokens_after", "count": 3}).count == 3
    assert Fault.from_spec({"kind": "expire_tokens_after", "requests": 4}).count == 4
    slow = Fault.from_spec({"kind": "slow", "count": 2, "seconds": 1, "endpoint": "games"})
    assert (slow.count, slow.seconds, slow.endpoint) == (2, 1.0, "games")
    assert Fault.from_spec({"kind": "revoke_tokens"}).kind == "revoke_tokens"
