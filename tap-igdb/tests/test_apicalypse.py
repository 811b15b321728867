"""Apicalypse query bodies: exact text, because IGDB parses it strictly."""

import pytest
from tap_igdb.apicalypse import (
    Block,
    KeysetWindow,
    boundary_body,
    count_body,
    multiquery_body,
    newest_body,
    records_body,
)


def test_keyset_window_filter_for_a_first_full_table_page() -> None:
    assert KeysetWindow(after_id=0).filter() == "id > 0"


def test_keyset_window_filter_with_bookmark_and_upper_bound() -> None:
    window = KeysetWindow(after_id=41, upto_id=900, updated_since=1_700_000_000)
    assert window.filter() == "updated_at >= 1700000000 & id > 41 & id <= 900"


def test_keyset_window_moves_its_anchor_only() -> None:
    window = KeysetWindow(after_id=0, upto_id=10, updated_since=5)
    assert window.after(7) == KeysetWindow(after_id=7, upto_id=10, updated_since=5)


def test_records_body_sorts_by_id_and_omits_a_zero_offset() -> None:
    body = records_body(KeysetWindow(after_id=12), limit=500)
    assert body == "fields *; where id > 12; sort id asc; limit 500;"


def test_records_body_with_offset() -> None:
    body = records_body(KeysetWindow(after_id=12), limit=250, offset=750)
    assert body == "fields *; where id > 12; sort id asc; limit 250; offset 750;"


@pytest.mark.parametrize("limit", [0, 501])
def test_records_body_rejects_limits_igdb_refuses(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        records_body(KeysetWindow(after_id=0), limit=limit)


def test_count_boundary_and_newest_bodies_share_the_stream_filter() -> None:
    window = KeysetWindow(after_id=0, updated_since=99)
    assert count_body(window) == "where updated_at >= 99 & id > 0;"
    assert boundary_body(window, 4999) == (
        "fields id; where updated_at >= 99 & id > 0; sort id asc; limit 1; offset 4999;"
    )
    assert (
        boundary_body(window, 0)
        == "fields id; where updated_at >= 99 & id > 0; sort id asc; limit 1;"
    )
    assert newest_body(window) == (
        "fields updated_at; where updated_at >= 99 & id > 0; sort updated_at desc; limit 1;"
    )


def test_multiquery_body_names_each_block() -> None:
    body = multiquery_body(
        [
            Block("games", "p0", "fields *; where id > 0; sort id asc; limit 500;"),
            Block("games/count", "count", "where id > 0;"),
        ]
    )
    assert body == (
        'query games "p0" { fields *; where id > 0; sort id asc; limit 500; };\n'
        'query games/count "count" { where id > 0; };\n'
    )


def test_multiquery_body_refuses_more_than_ten_blocks() -> None:
    blocks = [Block("games", f"p{k}", "fields *;") for k in range(11)]
    with pytest.raises(ValueError, match="10"):
        multiquery_body(blocks)


def test_default_window_includes_id_zero() -> None:
    # game_types and game_statuses have a record with id 0.
    assert KeysetWindow().filter() == "id > -1"
