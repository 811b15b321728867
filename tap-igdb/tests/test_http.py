"""The run's HTTP session tells when a request has been written to the socket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tap_igdb.http import new_session, when_sent

if TYPE_CHECKING:
    from conftest import FakeServer


def test_the_sent_hook_runs_once_per_request_before_the_answer_is_read(
    fake_server: FakeServer,
) -> None:
    events: list[str] = []
    session = new_session(pool_size=2)
    with when_sent(lambda: events.append("sent")):
        response = session.post(f"{fake_server.url}/v4/games", data="fields *;")
        events.append(f"answered {response.status_code}")
    assert events == ["sent", "answered 200"]
    session.post(f"{fake_server.url}/v4/games", data="fields *;")  # no hook outside
    assert events == ["sent", "answered 200"]
