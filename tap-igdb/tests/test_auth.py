"""Twitch client-credentials authenticator."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, Unpack
from urllib.parse import parse_qs

import pytest
import requests
from tap_igdb.auth import TwitchAuthenticator
from tap_igdb.errors import AuthError
from tap_igdb.settings import RetrySettings

if TYPE_CHECKING:
    from conftest import FakeServer, JSONObject, Reply, Seen

SECRET = "s3cr3t-value"
NO_WAITS = RetrySettings(max_retries=4, backoff_base_ms=1, backoff_max_ms=1)


class AuthOptions(TypedDict, total=False):
    """The authenticator settings a test may change."""

    retries: RetrySettings
    clock: Callable[[], float]
    sleep: Callable[[float], None]


def token_server(fake_server: FakeServer, expires_in: int = 5_000_000) -> None:
    def handler(seen: Seen) -> Reply:
        number = len(fake_server.requests)
        return fake_server.reply(body={"access_token": f"tok{number}", "expires_in": expires_in})

    fake_server.handler = handler


def make_auth(fake_server: FakeServer, **options: Unpack[AuthOptions]) -> TwitchAuthenticator:
    settings: AuthOptions = {"retries": NO_WAITS, "sleep": lambda _: None, **options}
    return TwitchAuthenticator(
        client_id="my-client",
        client_secret=SECRET,
        auth_url=f"{fake_server.url}/oauth2/token",
        **settings,
    )


def authenticated_headers(auth: TwitchAuthenticator) -> dict[str, str]:
    request = requests.Request("POST", "http://127.0.0.1/v4/games").prepare()
    return dict(auth(request).headers)


def test_sets_igdb_headers_and_sends_client_credentials(fake_server: FakeServer) -> None:
    token_server(fake_server)
    headers = authenticated_headers(make_auth(fake_server))
    assert headers["Client-ID"] == "my-client"
    assert headers["Authorization"] == "Bearer tok1"
    form = parse_qs(fake_server.requests[0].body)
    assert form == {
        "client_id": ["my-client"],
        "client_secret": [SECRET],
        "grant_type": ["client_credentials"],
    }


def test_token_is_fetched_once_for_many_requests(fake_server: FakeServer) -> None:
    token_server(fake_server)
    auth = make_auth(fake_server)
    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = set(pool.map(lambda _: authenticated_headers(auth)["Authorization"], range(64)))
    assert tokens == {"Bearer tok1"}
    assert auth.tokens_fetched == 1


def test_renewing_a_stale_token_fetches_once_across_threads(fake_server: FakeServer) -> None:
    token_server(fake_server)
    auth = make_auth(fake_server)
    stale = auth.token()
    barrier = threading.Barrier(8)

    def renew(_: int) -> str:
        barrier.wait()
        auth.renew(stale)
        return auth.token()

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(renew, range(8))) == {"tok2"}
    assert auth.tokens_fetched == 2


def test_token_is_renewed_shortly_before_it_expires(fake_server: FakeServer) -> None:
    token_server(fake_server, expires_in=1000)
    now = [0.0]
    auth = make_auth(fake_server, clock=lambda: now[0])
    assert auth.token() == "tok1"
    now[0] = 900.0  # still comfortably valid
    assert auth.token() == "tok1"
    now[0] = 990.0  # inside the renewal margin
    assert auth.token() == "tok2"


@pytest.mark.parametrize(
    ("status", "body", "setting"),
    [
        (400, {"status": 400, "message": "invalid client"}, "client_id"),
        (403, {"status": 403, "message": "invalid client secret"}, "client_secret"),
    ],
)
def test_rejected_credentials_name_the_setting(
    fake_server: FakeServer, status: int, body: dict[str, int | str], setting: str
) -> None:
    fake_server.handler = lambda _: fake_server.reply(status=status, body=body)
    with pytest.raises(AuthError) as raised:
        make_auth(fake_server).token()
    message = str(raised.value)
    assert setting in message
    assert str(status) in message
    assert SECRET not in message
    assert "\n" not in message
    assert len(fake_server.requests) == 1  # not retried


def test_transient_token_endpoint_errors_are_retried(fake_server: FakeServer) -> None:
    def handler(seen: Seen) -> Reply:
        if len(fake_server.requests) < 3:
            return fake_server.reply(status=502, body="Bad Gateway", content_type="text/plain")
        return fake_server.reply(body={"access_token": "late", "expires_in": 100_000})

    fake_server.handler = handler
    assert make_auth(fake_server).token() == "late"


def test_token_endpoint_failing_for_good_is_one_clear_error(fake_server: FakeServer) -> None:
    fake_server.handler = lambda _: fake_server.reply(
        status=503, body="down", content_type="text/plain"
    )
    with pytest.raises(AuthError, match=r"auth_url .*503") as raised:
        make_auth(fake_server, retries=RetrySettings(2, 1, 1)).token()
    assert len(fake_server.requests) == 3
    assert SECRET not in str(raised.value)


def failing_token_endpoint(fake_server: FakeServer, failures: int) -> None:
    """A token endpoint that answers 502 `failures` times, then hands out a token."""

    def handler(seen: Seen) -> Reply:
        if seen.path.endswith("/oauth2/token") and len(fake_server.requests) <= failures:
            return fake_server.reply(status=502, body="Bad Gateway", content_type="text/plain")
        if seen.path.endswith("/oauth2/token"):
            return fake_server.reply(body={"access_token": "late", "expires_in": 100_000})
        return fake_server.reply(body=[])

    fake_server.handler = handler


def test_the_token_request_retries_as_often_as_max_retries_says(
    fake_server: FakeServer, fake_igdb_config: JSONObject, tmp_path: Path
) -> None:
    """The same `max_retries` as every API request: a run with one retry stops after
    the second 502, though a third attempt would have got a token."""
    failing_token_endpoint(fake_server, failures=2)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**fake_igdb_config, "max_retries": 1}))
    result = subprocess.run(
        [sys.executable, "-m", "tap_igdb.tap", "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        "Error: could not get a Twitch access token from the auth_url setting after 2 "
        "attempts (last failure: HTTP 502)"
    ]
    assert "Traceback" not in result.stderr
    assert "fake-secret-value" not in result.stderr + result.stdout
    assert len(fake_server.requests) == 2


def test_the_token_request_waits_as_the_backoff_settings_say(fake_server: FakeServer) -> None:
    failing_token_endpoint(fake_server, failures=3)
    waits: list[float] = []
    retries = RetrySettings(max_retries=3, backoff_base_ms=10, backoff_max_ms=25)
    auth = make_auth(fake_server, retries=retries, sleep=waits.append)
    assert auth.token() == "late"
    assert len(fake_server.requests) == 4
    # 10 ms doubling, capped at 25 ms; each cut to between half and all of it (jitter).
    assert len(waits) == 3
    for wait, full in zip(waits, [0.010, 0.020, 0.025], strict=True):
        assert full / 2 <= wait <= full, waits


def test_no_retries_means_one_token_request_and_no_wait(fake_server: FakeServer) -> None:
    failing_token_endpoint(fake_server, failures=1)
    waits: list[float] = []
    auth = make_auth(fake_server, retries=RetrySettings(0, 1000, 1000), sleep=waits.append)
    with pytest.raises(AuthError, match=r"after 1 attempts \(last failure: HTTP 502\)"):
        auth.token()
    assert len(fake_server.requests) == 1
    assert waits == []


def test_a_token_answer_without_a_token_is_an_error(fake_server: FakeServer) -> None:
    fake_server.handler = lambda _: fake_server.reply(body={"unexpected": True})
    with pytest.raises(AuthError, match="access_token"):
        make_auth(fake_server).token()
