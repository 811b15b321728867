"""Query execution against a table: filters, array semantics, sorting, paging, projection."""

import json
import random

import pytest
from igdb_emulator.apicalypse import ApicalypseError, parse_query
from igdb_emulator.entities import entity
from igdb_emulator.query import count, execute
from igdb_emulator.records import Record
from igdb_emulator.table import Table

GAMES = [
    {"id": 3, "name": "Zelda Quest", "genres": [5, 8], "updated_at": 300, "rating": 80.5},
    {"id": 1, "name": "Mario Run", "genres": [8], "updated_at": 500},
    {"id": 7, "name": "Another ZELDA", "genres": [5, 12, 8], "updated_at": 100, "rating": 60.0},
    {"id": 9, "name": "Tetris", "updated_at": 300, "rating": 99.0},
]


@pytest.fixture
def games() -> Table:
    return Table.from_records(entity("games"), GAMES)


def run(table: Table, body: str) -> list[Record]:
    return [json.loads(blob) for blob in execute(parse_query(body), table.snapshot, table.entity)]


def ids(table: Table, body: str) -> list[int]:
    return [record["id"] for record in run(table, body)]


def test_star_returns_records_in_key_order_without_nulls(games: Table) -> None:
    records = run(games, "fields *; where id = 3;")
    assert list(records[0]) == ["id", "genres", "name", "rating", "updated_at"]


def test_keyset_paging_and_default_id_order(games: Table) -> None:
    assert ids(games, "fields *; where id > 1; sort id asc; limit 2;") == [3, 7]
    assert ids(games, "fields *; where id > 7; sort id asc; limit 500;") == [9]
    assert ids(games, "fields id; limit 500;") == [1, 3, 7, 9]


def test_updated_at_filter_and_sort_desc_with_offset(games: Table) -> None:
    assert ids(games, "where updated_at >= 300; sort updated_at asc; limit 10;") == [3, 9, 1]
    assert ids(games, "sort updated_at desc; limit 2; offset 1;") == [3, 9]


def test_array_field_semantics(games: Table) -> None:
    assert ids(games, "where genres = 5; limit 50;") == [3, 7]
    assert ids(games, "where genres = (12, 99); limit 50;") == [7]
    assert ids(games, "where genres = [5, 8]; limit 50;") == [3, 7]
    assert ids(games, "where genres = {5, 8}; limit 50;") == [3]
    assert ids(games, "where genres != 5; limit 50;") == [1, 9]


def test_null_checks_and_boolean_logic(games: Table) -> None:
    assert ids(games, "where rating = null; limit 50;") == [1]
    assert ids(games, "where rating != null & (rating > 90 | genres = 12); limit 50;") == [7, 9]


def test_string_match_case_and_wildcards(games: Table) -> None:
    assert ids(games, 'where name ~ *"zelda"*; limit 50;') == [3, 7]
    assert ids(games, 'where name = "Zelda"*; limit 50;') == [3]
    assert ids(games, 'where name ~ "tetris"; limit 50;') == [9]
    assert ids(games, 'where name = "tetris"; limit 50;') == []


def test_subset_fields_keep_key_order_and_always_id(games: Table) -> None:
    records = run(games, "fields updated_at, name; where id = 3;")
    assert records == [{"id": 3, "name": "Zelda Quest", "updated_at": 300}]
    assert list(records[0]) == ["id", "name", "updated_at"]


def test_exclude_drops_fields(games: Table) -> None:
    assert run(games, "fields *; exclude genres, rating; where id = 3;") == [
        {"id": 3, "name": "Zelda Quest", "updated_at": 300}
    ]


def test_sort_on_sparse_field_puts_missing_last(games: Table) -> None:
    assert ids(games, "sort rating desc; limit 50;") == [9, 3, 7, 1]


def test_count_with_and_without_where(games: Table) -> None:
    assert count(parse_query(""), games.snapshot, games.entity) == 4
    assert count(parse_query("where genres = 8;"), games.snapshot, games.entity) == 3


@pytest.mark.parametrize(
    "body", ["fields nope;", "where nope = 1;", "sort nope asc;", "fields *; exclude nope;"]
)
def test_unknown_field_is_invalid_field(games: Table, body: str) -> None:
    with pytest.raises(ApicalypseError) as caught:
        execute(parse_query(body), games.snapshot, games.entity)
    assert caught.value.kind == "invalid_field"
    assert caught.value.cause == "Invalid field name: 'nope'"


def test_updated_at_filters_answer_as_a_scan_of_every_record_would() -> None:
    """Incremental reads (`updated_at >= T` with id bounds) go through an updated_at index
    when few rows qualify: the answers must be those of checking every record."""
    rng = random.Random(3)
    records: list[Record] = []
    for record_id in range(1, 2001):
        record: Record = {"id": record_id, "name": f"game {record_id}"}
        if rng.random() > 0.05:  # a few records have no updated_at at all
            record["updated_at"] = rng.choice([rng.randint(0, 1000), rng.randint(990, 1000)])
        records.append(record)
    table = Table.from_records(entity("games"), records)

    def matches(record: Record, op: str, value: int, low: int, high: int) -> bool:
        updated = record.get("updated_at")
        if updated is None or not low < record["id"] <= high:
            return False
        return bool(updated >= value if op == ">=" else updated > value)

    for _ in range(300):
        op, value = rng.choice([">=", ">"]), rng.choice([-1, 0, 500, 990, 995, 1000, 1001])
        low, high = sorted(rng.sample(range(0, 2002), 2))
        order = rng.choice(["asc", "desc"])
        limit, offset = rng.choice([1, 7, 500]), rng.choice([0, 3])
        body = (
            f"fields id; where updated_at {op} {value} & id > {low} & id <= {high};"
            f" sort id {order}; limit {limit}; offset {offset};"
        )
        expected = [r["id"] for r in records if matches(r, op, value, low, high)]
        expected = expected[::-1] if order == "desc" else expected
        assert ids(table, body) == expected[offset : offset + limit], body
        where = f"where id > {low} & updated_at {op} {value} & id <= {high};"
        assert count(parse_query(where), table.snapshot, table.entity) == len(expected), where

    either = "fields id; where updated_at >= 1000 | id = 5; limit 500;"
    newest = {r["id"] for r in records if matches(r, ">=", 1000, 0, 2001)}
    assert ids(table, either) == sorted({5} | newest)
