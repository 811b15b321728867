"""The transport alone: one request, retried, resized after a 413, answers returned."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from tap_igdb.apicalypse import Block, KeysetWindow, records_body
from tap_igdb.auth import TwitchAuthenticator
from tap_igdb.errors import IGDBAPIError
from tap_igdb.limiter import RequestLimiter
from tap_igdb.responses import RawRecords
from tap_igdb.settings import RetrySettings
from tap_igdb.transport import IGDBTransport

if TYPE_CHECKING:
    from collections.abc import Sequence

    from conftest import FakeServer, JSONObject, Reply, Seen

RETRIES = RetrySettings(max_retries=3, backoff_base_ms=100, backoff_max_ms=150)
TOO_LARGE: list[JSONObject] = [
    {"title": "Payload Too Large", "status": 413, "cause": "Response exceeds 10MB."}
]


def transport(fake_igdb: FakeServer, waits: list[float], *, multiquery: bool) -> IGDBTransport:
    authenticator = TwitchAuthenticator(
        client_id="fake-client",
        client_secret="fake-secret-value",
        auth_url=f"{fake_igdb.url}/oauth2/token",
        retries=RETRIES,
    )
    return IGDBTransport(
        api_url=f"{fake_igdb.url}/v4/",
        use_multiquery=multiquery,
        request_timeout=5,
        retries=RETRIES,
        authenticator=authenticator,
        limiter=RequestLimiter(100, 8),
        user_agent="test",
        logger=logging.getLogger("test-transport"),
        sleep=waits.append,
    )


@dataclass
class Request:
    """A plan's request: one block of `page_size` genres."""

    page_size: int
    shrunk: list[int] = field(default_factory=list)

    def blocks(self) -> Sequence[Block]:
        body = records_body(KeysetWindow(), limit=self.page_size)
        return [Block("genres", "p0", body)]

    def shrink(self) -> int | None:
        if self.page_size <= 1:
            return None
        self.page_size //= 2
        self.shrunk.append(self.page_size)
        return self.page_size


def test_the_retried_call_returns_the_answers_of_the_attempt_that_worked(
    fake_igdb: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    replies = iter([fake_igdb.reply(status=502, body="Bad Gateway"), fake_igdb.reply(body=b"[{")])

    def api(seen: Seen) -> Reply:
        return next(replies, fake_igdb.reply(body=[{"id": 3}, {"id": 5}]))

    fake_igdb.api = api
    waits: list[float] = []
    with caplog.at_level(logging.WARNING):
        (answer,) = transport(fake_igdb, waits, multiquery=False).fetch(Request(page_size=2))

    assert isinstance(answer, RawRecords)
    assert (answer.size, answer.last_id) == (2, 5)
    assert answer.decode() == [{"id": 3}, {"id": 5}]
    assert len(fake_igdb.api_requests()) == 3
    assert 0.05 <= waits[0] <= 0.1
    assert 0.075 <= waits[1] <= 0.15  # doubled, capped at backoff_max_ms, jittered
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Retry")]
    assert [line.split(" in ")[0] for line in retries] == ["Retry 1 of 3", "Retry 2 of 3"]
    assert retries[0].endswith("genres: IGDB answered 502 Bad Gateway")
    assert retries[1].endswith("genres: IGDB sent a 200 with invalid or truncated JSON")
    assert not [line for line in retries if "fake-token" in line or "fake-secret" in line]


def test_a_413_asks_for_fewer_records_per_page_then_again(fake_igdb: FakeServer) -> None:
    def api(seen: Seen) -> Reply:
        limit = int(re.findall(r"limit (\d+)", seen.body)[0])
        if limit > 2:
            return fake_igdb.reply(status=413, body=TOO_LARGE)
        records: list[JSONObject] = [{"id": i} for i in range(1, limit + 1)]
        answer: list[JSONObject] = [{"name": "p0", "result": records}]
        return fake_igdb.reply(body=answer)

    fake_igdb.api = api
    request = Request(page_size=8)
    (answer,) = transport(fake_igdb, [], multiquery=True).fetch(request)

    assert isinstance(answer, RawRecords)
    assert answer.size == 2
    assert request.shrunk == [4, 2]
    assert [seen.path for seen in fake_igdb.api_requests()] == ["/v4/multiquery"] * 3


def test_a_413_at_one_record_per_page_is_the_error(fake_igdb: FakeServer) -> None:
    """A one-line error the CLI prints as it is (a TapIGDBError), not a traceback."""
    fake_igdb.api = lambda seen: fake_igdb.reply(status=413, body=TOO_LARGE)
    request = Request(page_size=2)
    with pytest.raises(IGDBAPIError) as raised:
        transport(fake_igdb, [], multiquery=True).fetch(request)

    assert str(raised.value) == (
        "multiquery (genres): IGDB answered 413 Payload Too Large: Response exceeds 10MB. "
        "(already at one record per page)"
    )
    assert request.shrunk == [1]
    assert len(fake_igdb.api_requests()) == 2
