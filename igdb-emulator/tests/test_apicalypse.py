"""Apicalypse parser: each clause, the shorthands, operators, literals and the error kinds."""

import pytest
from igdb_emulator.apicalypse import (
    AllOf,
    And,
    AnyOf,
    ApicalypseError,
    Comparison,
    ExactSet,
    Or,
    Pattern,
    parse_multiquery,
    parse_query,
)


def test_empty_body_defaults_to_ids_only_and_limit_ten() -> None:
    query = parse_query("")
    assert query.fields == ("id",)
    assert query.limit == 10
    assert query.offset == 0
    assert query.where is None
    assert query.sort is None


def test_fields_star_and_lists_with_shorthand() -> None:
    assert parse_query("fields *;").fields == ("*",)
    assert parse_query("f name, slug ,id;").fields == ("name", "slug", "id")


def test_exclude_clause_and_shorthand() -> None:
    assert parse_query("fields *; exclude summary, storyline;").exclude == ("summary", "storyline")
    assert parse_query("f *; x summary;").exclude == ("summary",)


def test_sort_limit_offset_with_shorthands() -> None:
    query = parse_query("s updated_at desc; l 500; o 1000;")
    assert query.sort is not None
    assert query.sort.field == "updated_at"
    assert query.sort.descending is True
    assert query.limit == 500
    assert query.offset == 1000
    sort = parse_query("sort id;").sort
    assert sort is not None
    assert sort.descending is False


def test_where_comparisons_and_precedence() -> None:
    where = parse_query("where id > 5 & rating >= 70.5 | name = null;").where
    assert where == Or(
        (
            And((Comparison("id", ">", 5), Comparison("rating", ">=", 70.5))),
            Comparison("name", "=", None),
        )
    )


def test_where_parentheses_group() -> None:
    where = parse_query("w (id < 3 | id > 9) & updated_at != null;").where
    assert where == And(
        (
            Or((Comparison("id", "<", 3), Comparison("id", ">", 9))),
            Comparison("updated_at", "!=", None),
        )
    )


def test_any_of_all_of_and_exact_sets() -> None:
    assert parse_query("where genres = (5, 8);").where == Comparison("genres", "=", AnyOf((5, 8)))
    assert parse_query("where genres = [5,8];").where == Comparison("genres", "=", AllOf((5, 8)))
    assert parse_query("where genres = {5,8};").where == Comparison("genres", "=", ExactSet((5, 8)))


def test_strings_booleans_and_wildcards() -> None:
    assert parse_query('where name = "Zelda; the \\"best\\"";').where == Comparison(
        "name", "=", 'Zelda; the "best"'
    )
    assert parse_query("where developer = true;").where == Comparison("developer", "=", True)
    assert parse_query('where name ~ *"zel"*;').where == Comparison(
        "name", "~", Pattern("zel", prefix_wildcard=True, suffix_wildcard=True)
    )
    assert parse_query('where name ~ "zel"*;').where == Comparison(
        "name", "~", Pattern("zel", prefix_wildcard=False, suffix_wildcard=True)
    )


def test_search_clause_is_parsed() -> None:
    assert parse_query('search "mario"; fields name;').search == "mario"


@pytest.mark.parametrize(
    "body",
    [
        "fields *",  # missing semicolon
        "fields ;",
        "where id >;",
        "where (id > 3;",
        "limit ten;",
        "sort id sideways;",
        "bogus clause;",
        'where name = "unterminated;',
        "where id > 3 &;",
    ],
)
def test_syntax_errors(body: str) -> None:
    with pytest.raises(ApicalypseError) as caught:
        parse_query(body)
    assert caught.value.kind == "syntax"


def test_limit_above_500_is_the_documented_error() -> None:
    with pytest.raises(ApicalypseError) as caught:
        parse_query("limit 501;")
    assert caught.value.kind == "limit"
    assert caught.value.cause == "You typed in 501 as limit but your maximum is 500"


def test_multiquery_blocks_in_order() -> None:
    blocks = parse_multiquery(
        'query games "page-1" { fields *; where id > 0; sort id asc; limit 500; };'
        'query games/count "c" { where id > 10; };'
    )
    assert [(b.endpoint, b.name, b.count) for b in blocks] == [
        ("games", "page-1", False),
        ("games", "c", True),
    ]
    assert blocks[0].query.limit == 500
    assert blocks[1].query.where == Comparison("id", ">", 10)


@pytest.mark.parametrize(
    "body",
    [
        'query games "a" { fields *; }',  # missing trailing semicolon
        "query games { fields *; };",
        'query games "a" fields *; };',
        'games "a" { fields *; };',
    ],
)
def test_multiquery_syntax_errors(body: str) -> None:
    with pytest.raises(ApicalypseError) as caught:
        parse_multiquery(body)
    assert caught.value.kind == "syntax"
