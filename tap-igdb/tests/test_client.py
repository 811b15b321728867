"""Requests, paging and error handling of a whole run, against a scripted local server."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import pytest
from tap_igdb.errors import AuthError

if TYPE_CHECKING:
    from conftest import FakeServer, Handler, JSONObject, Reply, RunTap, Seen

GENRES: list[JSONObject] = [
    {"id": i, "name": f"genre {i}", "slug": f"g{i}", "checksum": f"c{i}"} for i in range(7)
]


def number(pattern: str, body: str) -> int:
    """The integer captured by `pattern`'s first group in a query body."""
    match = re.search(pattern, body)
    assert match, f"{pattern!r} not found in {body!r}"
    return int(match[1])


def keyset_pages(records: list[JSONObject], seen_body: str) -> list[JSONObject]:
    """Answer an Apicalypse keyset query (`where id > N; ... limit L;`) from `records`."""
    after = number(r"id > (-?\d+)", seen_body)
    upto = re.search(r"id <= (\d+)", seen_body)
    limit = number(r"limit (\d+)", seen_body)
    offset = int(m.group(1)) if (m := re.search(r"offset (\d+)", seen_body)) else 0
    matching = [r for r in records if r["id"] > after and (not upto or r["id"] <= int(upto[1]))]
    return matching[offset : offset + limit]


def plain_api(fake_igdb: FakeServer, records: list[JSONObject]) -> Handler:
    """A fake IGDB endpoint: keyset pages, `/count`, the highest id and the newest update."""

    def api(seen: Seen) -> Reply:
        if seen.path.endswith("/count"):
            return fake_igdb.reply(body={"count": len(records)})
        if "sort id desc" in seen.body:
            return fake_igdb.reply(body=[{"id": records[-1]["id"]}])
        if "sort updated_at desc" in seen.body:
            newest = max(records, key=lambda r: r["updated_at"])
            return fake_igdb.reply(body=[{"id": newest["id"], "updated_at": newest["updated_at"]}])
        return fake_igdb.reply(body=keyset_pages(records, seen.body))

    return api


def test_keyset_paging_reads_every_record_once_in_id_order(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    fake_igdb.api = plain_api(fake_igdb, GENRES)
    config = {**fake_igdb_config, "page_size": 3, "max_open_requests": 1}
    run = run_tap(config, streams=["genres"])
    assert run.records("genres") == GENRES
    bodies = [seen.body for seen in fake_igdb.api_requests()]
    # A lookup table is read as one page; a full one is followed with keyset pages.
    assert bodies == [
        "fields *; where id > -1; sort id asc; limit 3;",
        "fields *; where id > 2; sort id asc; limit 3;",
        "fields *; where id > 5; sort id asc; limit 3;",
    ]
    assert all(
        seen.headers["Authorization"] == "Bearer fake-token" for seen in fake_igdb.api_requests()
    )
    assert all(seen.headers["Client-ID"] == "fake-client" for seen in fake_igdb.api_requests())


def test_large_streams_are_split_into_id_ranges_read_concurrently(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    games = [{"id": i, "updated_at": 1_700_000_000 + i} for i in range(1, 201)]
    fake_igdb.api = plain_api(fake_igdb, games)
    config = {**fake_igdb_config, "page_size": 10, "max_open_requests": 4}
    run = run_tap(config, streams=["games"])
    records = run.records("games")
    assert sorted(r["id"] for r in records) == list(range(1, 201))  # each exactly once
    assert run.bookmark("games") == 1_700_000_200
    bodies = [seen.body for seen in fake_igdb.api_requests()]
    # Without multiquery: ranges of 30 records (200 / (2 x 4 workers), in whole pages),
    # cut by probes for the id at offset 29 after the previous boundary, never deeper.
    probes = [body for body in bodies if body.startswith("fields id;")]
    assert len(probes) == 6
    assert all(body.endswith("limit 1; offset 29;") for body in probes)
    ranges = {int(m[1]) for body in bodies if (m := re.search(r"id <= (\d+)", body))}
    assert ranges == {30, 60, 90, 120, 150, 180}  # and (180, ...) open-ended


THEMES: list[JSONObject] = [{"id": i, "name": f"theme {i}"} for i in range(1, 4)]


def test_lookup_tables_share_one_opening_multiquery(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    tables = {"genres": GENRES, "themes": THEMES}

    def api(seen: Seen) -> Reply:
        assert seen.path == "/v4/multiquery"
        blocks = re.findall(r'query (\S+) "(\w+)" \{ (.*?) \};', seen.body)
        answer = [
            {"name": name, "result": keyset_pages(tables[endpoint], body)}
            for endpoint, name, body in blocks
        ]
        return fake_igdb.reply(body=answer)

    fake_igdb.api = api
    config = {**fake_igdb_config, "use_multiquery": True, "multiquery_pages": 2, "page_size": 5}
    run = run_tap(config, streams=["genres", "themes"])
    assert run.records("genres") == GENRES
    assert run.records("themes") == THEMES
    first, *rest = (seen.body for seen in fake_igdb.api_requests())
    assert first == (
        'query genres "genres" { fields *; where id > -1; sort id asc; limit 5; };\n'
        'query themes "themes" { fields *; where id > -1; sort id asc; limit 5; };\n'
    )
    # The genres page was full: paged on from its last id, two pages per request.
    assert rest == [
        'query genres "p0" { fields *; where id > 4; sort id asc; limit 5; };\n'
        'query genres "p1" { fields *; where id > 4; sort id asc; limit 5; offset 5; };\n'
    ]


def test_records_leave_the_tap_unchanged(
    fake_igdb: FakeServer,
    fake_igdb_config: JSONObject,
    run_tap: RunTap,
    caplog: pytest.LogCaptureFixture,
) -> None:
    game: JSONObject = {
        "id": 7,
        "aggregated_rating": 80.0,
        "rating": 72.5123456789,
        "first_release_date": 1668643200,
        "genres": [13, 14],
        "name": "Ünïcödé \u2603",
        "checksum": "8d54001d-e4b0-3632-7e14-7e2134d3bf7d",
        "brand_new_field": {"nested": [1, 2.5]},
        "updated_at": 1756997209,
    }
    fake_igdb.api = plain_api(fake_igdb, [game, {**game, "id": 8}])
    with caplog.at_level(logging.WARNING):
        run = run_tap(fake_igdb_config, streams=["games"])
    first = run.records("games")[0]
    assert first == game
    assert list(first) == list(game)  # key order kept
    assert type(first["aggregated_rating"]) is float
    assert type(first["first_release_date"]) is int
    warnings = [r.getMessage() for r in caplog.records if "brand_new_field" in r.getMessage()]
    assert len(warnings) == 1  # once per stream, not per record


def test_bad_request_fails_at_once_naming_endpoint_status_and_cause(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    fake_igdb.api = lambda seen: fake_igdb.reply(
        status=400,
        body=[{"title": "Invalid Field", "status": 400, "cause": "Invalid field name: 'nope'"}],
    )
    run = run_tap(fake_igdb_config, streams=["genres"], failing=True)
    assert run.failed is not None
    assert run.failed.failures == {
        "genres": "genres: IGDB answered 400 Invalid Field: Invalid field name: 'nope'"
    }
    assert len(fake_igdb.api_requests()) == 1


def test_server_errors_are_retried_then_fail_with_one_line(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    fake_igdb.api = lambda seen: fake_igdb.reply(
        status=502, body="Bad Gateway", content_type="text/plain"
    )
    run = run_tap({**fake_igdb_config, "max_retries": 2}, streams=["genres"], failing=True)
    assert len(fake_igdb.api_requests()) == 3
    message = str(run.failed)
    assert message == (
        "tap-igdb: 1 of 1 streams failed: "
        "genres (genres: giving up after 3 attempts: genres: IGDB answered 502 Bad Gateway)"
    )
    assert "fake-secret-value" not in message
    assert "fake-token" not in message


def test_invalid_json_in_a_200_is_retried(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    answers = iter([b'[{"id": 1, "na', b"<html>oops</html>"])

    def api(seen: Seen) -> Reply:
        body = next(answers, None)
        if body is None:
            return fake_igdb.reply(body=GENRES[:2])
        return fake_igdb.reply(body=body)

    fake_igdb.api = api
    run = run_tap(fake_igdb_config, streams=["genres"])
    assert run.records("genres") == GENRES[:2]
    assert len(fake_igdb.api_requests()) == 3


def test_invalid_json_until_retries_run_out_names_the_endpoint(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    fake_igdb.api = lambda seen: fake_igdb.reply(body=b'[{"id": 1,')
    run = run_tap({**fake_igdb_config, "max_retries": 1}, streams=["genres"], failing=True)
    assert run.failed is not None
    assert re.match(r"genres: giving up after 2 attempts: .*invalid", run.failed.failures["genres"])


def test_payload_too_large_halves_the_limit_until_it_fits(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    def api(seen: Seen) -> Reply:
        limit = re.search(r"limit (\d+)", seen.body)
        if limit and int(limit[1]) > 2:
            return fake_igdb.reply(
                status=413,
                body=[
                    {
                        "title": "Payload Too Large",
                        "status": 413,
                        "cause": "Response exceeds 10MB limit.",
                    }
                ],
            )
        return plain_api(fake_igdb, GENRES)(seen)

    fake_igdb.api = api
    run = run_tap({**fake_igdb_config, "page_size": 8}, streams=["genres"])
    # Id ranges are read concurrently: every record exactly once, in any order.
    assert sorted(run.records("genres"), key=lambda r: r["id"]) == GENRES
    limits = [m[1] for s in fake_igdb.api_requests() if (m := re.search(r"limit (\d+)", s.body))]
    assert limits[:3] == ["8", "4", "2"]
    assert set(limits[3:]) <= {"1", "2"}  # the smaller limit is kept for the rest


def test_unauthorized_fetches_a_new_token_once_and_retries(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    tokens = iter(["first-token", "second-token"])

    def handler(seen: Seen) -> Reply:
        if seen.path.endswith("/oauth2/token"):
            return fake_igdb.reply(body={"access_token": next(tokens), "expires_in": 9_999_999})
        if seen.headers["Authorization"] == "Bearer first-token":
            return fake_igdb.reply(status=401, body={"message": "Authorization Failure."})
        return fake_igdb.reply(body=GENRES[:1])

    fake_igdb.handler = handler
    run = run_tap(fake_igdb_config, streams=["genres"])
    assert run.records("genres") == GENRES[:1]
    assert fake_igdb.paths().count("/oauth2/token") == 2


def test_unauthorized_with_a_fresh_token_is_fatal(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    fake_igdb.api = lambda seen: fake_igdb.reply(
        status=401, body={"message": "Authorization Failure."}
    )
    with pytest.raises(AuthError, match="refused a freshly fetched token"):
        run_tap(fake_igdb_config, streams=["genres"])
    assert fake_igdb.paths().count("/oauth2/token") == 2
