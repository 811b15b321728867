"""The run's HTTP session tells when a request has been written to the socket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tap_igdb.http import around_send, new_session

if TYPE_CHECKING:
    from conftest import FakeServer


def test_the_hooks_run_once_per_request_around_the_write_before_the_answer_is_read(
    fake_server: FakeServer,
) -> None:
    events: list[str] = []
    session = new_session(pool_size=2)
    with around_send(lambda: events.append("sending"), lambda: events.append("sent")):
        response = session.post(f"{fake_server.url}/v4/games", data="fields *;")
        events.append(f"answered {response.status_code}")
    assert events == ["sending", "sent", "answered 200"]
    session.post(f"{fake_server.url}/v4/games", data="fields *;")  # no hooks outside
    assert events == ["sending", "sent", "answered 200"]
