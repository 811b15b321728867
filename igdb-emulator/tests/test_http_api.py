"""The IGDB and Twitch API over real sockets: tokens, auth, queries, errors, multiquery."""

from __future__ import annotations

import socket
import struct
import time
import urllib.parse
from typing import TYPE_CHECKING

import pytest
from igdb_emulator import Emulator, EmulatorConfig
from igdb_emulator.pytest_plugin import EmulatorFactory
from igdb_emulator.records import Record
from igdb_emulator.server import AUTH_FAILURE

if TYPE_CHECKING:
    from conftest import Connect


def test_token_via_query_string_and_form_body(igdb_emulator: Emulator, connect: Connect) -> None:
    client = connect(igdb_emulator)
    reply = client.fetch_token()
    assert reply.status == 200
    payload = reply.json()
    assert payload["token_type"] == "bearer"
    assert payload["expires_in"] == 5_587_808
    form = urllib.parse.urlencode(
        {
            "client_id": igdb_emulator.client_id,
            "client_secret": igdb_emulator.client_secret,
            "grant_type": "client_credentials",
        }
    ).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    second = client.request("POST", "/oauth2/token", form, headers)
    assert second.status == 200
    assert igdb_emulator.tokens_issued == 2
    assert igdb_emulator.issued_tokens() == [payload["access_token"], second.json()["access_token"]]


def test_token_errors(igdb_emulator: Emulator, connect: Connect) -> None:
    client = connect(igdb_emulator)
    unknown = client.fetch_token(client_id="who")
    assert (unknown.status, unknown.json()) == (400, {"status": 400, "message": "invalid client"})
    wrong = client.fetch_token(secret="nope")
    assert (wrong.status, wrong.json()) == (
        403,
        {"status": 403, "message": "invalid client secret"},
    )
    assert igdb_emulator.tokens_issued == 0


def test_twenty_sixth_token_invalidates_the_oldest(
    igdb_emulator_factory: EmulatorFactory, connect: Connect
) -> None:
    emulator = igdb_emulator_factory(config=EmulatorConfig.unthrottled())
    client = connect(emulator)
    tokens = [client.fetch_token().json()["access_token"] for _ in range(26)]
    assert client.api("genres", "fields id;", token=tokens[0]).status == 401
    assert client.api("genres", "fields id;", token=tokens[1]).status == 200
    assert client.api("genres", "fields id;", token=tokens[25]).status == 200


def test_requests_without_valid_credentials_get_the_401_object(
    igdb_emulator: Emulator, connect: Connect
) -> None:
    client = connect(igdb_emulator)
    bare = client.request("POST", "/v4/games", b"fields *;")
    assert (bare.status, bare.json()) == (401, AUTH_FAILURE)
    token = client.login()
    secret_as_token = client.request(
        "POST",
        "/v4/games",
        b"fields *;",
        {"Client-ID": igdb_emulator.client_id, "Authorization": igdb_emulator.client_secret},
    )
    assert secret_as_token.status == 401
    no_client_id = client.request(
        "POST", "/v4/games", b"fields *;", {"Authorization": f"Bearer {token}"}
    )
    assert no_client_id.status == 401


def test_keyset_paging_walks_every_game_exactly_once(
    igdb_emulator_factory: EmulatorFactory, connect: Connect
) -> None:
    emulator = igdb_emulator_factory(config=EmulatorConfig.unthrottled())
    client = connect(emulator)
    seen: list[Record] = []
    last = 0
    while True:
        reply = client.api("games", f"fields *; where id > {last}; sort id asc; limit 500;")
        assert reply.status == 200
        page = reply.json()
        if not page:
            break
        seen.extend(page)
        last = page[-1]["id"]
    assert seen == emulator.truth("games")
    assert len(seen) == 600


def test_default_query_returns_ten_ids(igdb_emulator: Emulator, connect: Connect) -> None:
    reply = connect(igdb_emulator).api("games", "")
    assert reply.status == 200
    assert [list(record) for record in reply.json()] == [["id"]] * 10


def test_query_error_bodies(igdb_emulator_factory: EmulatorFactory, connect: Connect) -> None:
    client = connect(igdb_emulator_factory(config=EmulatorConfig.unthrottled()))
    limit = client.api("games", "fields *; limit 501;")
    assert (limit.status, limit.json()) == (
        403,
        [
            {
                "title": "Request limit to high",
                "status": 403,
                "cause": "You typed in 501 as limit but your maximum is 500",
            }
        ],
    )
    syntax = client.api("games", "fields *; where id >;")
    assert (syntax.status, syntax.json()) == (400, [{"title": "Syntax Error", "status": 400}])
    invalid = client.api("games", "fields nope;")
    assert (invalid.status, invalid.json()) == (
        400,
        [{"title": "Invalid Field", "status": 400, "cause": "Invalid field name: 'nope'"}],
    )
    missing = client.api("gamez", "fields *;")
    assert missing.status == 404
    assert missing.headers["content-type"].startswith("text/plain")
    assert missing.body == b"Endpoint POST /gamez not found"


def test_count_endpoint(igdb_emulator: Emulator, connect: Connect) -> None:
    client = connect(igdb_emulator)
    assert client.api("games/count", "").json() == {"count": 600}
    assert client.api("platforms/count", "where generation = 7;").json() == {
        "count": sum(1 for p in igdb_emulator.truth("platforms") if p.get("generation") == 7)
    }


def test_multiquery_answers_blocks_in_order(igdb_emulator: Emulator, connect: Connect) -> None:
    client = connect(igdb_emulator)
    reply = client.api(
        "multiquery",
        'query games "page-1" { fields *; where id > 0; sort id asc; limit 500; };'
        'query games/count "c" { where id > 0; };'
        'query genres "g" { fields name; sort id asc; limit 2; };',
    )
    assert reply.status == 200
    first, counted, genres = reply.json()
    assert first["name"] == "page-1"
    assert first["result"] == igdb_emulator.truth("games")[:500]
    assert counted == {"name": "c", "count": 600}
    assert genres == {
        "name": "g",
        "result": [{"id": 2, "name": "Point-and-click"}, {"id": 4, "name": "Fighting"}],
    }
    assert len(igdb_emulator.request_log) == 2  # the token fetch and ONE multiquery request


def test_multiquery_more_than_ten_blocks(igdb_emulator: Emulator, connect: Connect) -> None:
    body = "".join(f'query games "q{i}" {{ fields id; }};' for i in range(11))
    reply = connect(igdb_emulator).api("multiquery", body)
    assert (reply.status, reply.json()) == (
        400,
        {
            "title": "Too Many Concurrent queries",
            "details": "The maximum amount of concurrent request is at 10 queries",
        },
    )


def test_response_over_the_cap_is_413(
    igdb_emulator_factory: EmulatorFactory, connect: Connect
) -> None:
    emulator = igdb_emulator_factory(config=EmulatorConfig(response_cap_bytes=20_000))
    client = connect(emulator)
    small = client.api("genres", "fields name; limit 3;")
    assert small.status == 200
    large = client.api("games", "fields *; limit 500;")
    assert (large.status, large.json()) == (
        413,
        [{"title": "Payload Too Large", "status": 413, "cause": "Response exceeds 10MB limit."}],
    )


def test_unknown_route_is_404_text(igdb_emulator: Emulator, connect: Connect) -> None:
    reply = connect(igdb_emulator).request("GET", "/v3/games")
    assert reply.status == 404
    assert reply.body == b"Endpoint GET /v3/games not found"


def test_request_log_has_every_request_and_no_secret(
    igdb_emulator: Emulator, connect: Connect
) -> None:
    client = connect(igdb_emulator)
    client.fetch_token(secret="wrong-secret")
    client.login()
    client.request("POST", "/v4/games", b"fields id;")  # no credentials: 401
    client.api("games", "fields id; limit 2;")
    log = igdb_emulator.request_log
    assert [(entry.endpoint, entry.status) for entry in log] == [
        ("oauth2/token", 403),
        ("oauth2/token", 200),
        ("games", 401),
        ("games", 200),
    ]
    assert log[3].body == "fields id; limit 2;"
    assert all(entry.duration >= 0 and entry.time > 0 for entry in log)
    assert igdb_emulator.client_secret not in repr(log)
    assert "wrong-secret" not in repr(log)
    igdb_emulator.clear_request_log()
    assert igdb_emulator.request_log == []


def test_a_client_that_resets_its_connection_is_not_a_server_error(
    igdb_emulator: Emulator, capfd: pytest.CaptureFixture[str]
) -> None:
    """A tap whose request timed out hangs up; IGDB shrugs, and so must the emulator
    (socketserver printed a ConnectionResetError traceback for each)."""
    url = urllib.parse.urlsplit(igdb_emulator.base_url)
    with socket.create_connection((url.hostname or "", url.port or 80), timeout=10) as client:
        client.sendall(b"POST /v4/games HTTP/1.1\r\nHost: igdb\r\n")  # headers not finished
        deadline = time.monotonic() + 10
        while igdb_emulator.open_connections == 0:
            assert time.monotonic() < deadline, "the emulator never took the connection"
            time.sleep(0.01)  # polling the server; the deadline bounds the wait
        # Closing with a zero linger sends a reset, not a FIN.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    deadline = time.monotonic() + 10
    while igdb_emulator.open_connections:
        assert time.monotonic() < deadline, "the emulator kept the reset connection"
        time.sleep(0.01)  # polling the server; the deadline bounds the wait

    assert "Traceback" not in capfd.readouterr().err
