"""The `hold` fault: a request kept waiting on arrival until the test releases it.

What a test does while a request is held happens while its client is provably
waiting there: no sleep decides where a kill, a revocation or a change lands.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from igdb_emulator import Emulator, EmulatorConfig, Fault, HeldRequest
from igdb_emulator.pytest_plugin import EmulatorFactory

if TYPE_CHECKING:
    from conftest import Client, Connect, Reply

WAIT_S = 10.0


@pytest.fixture
def emu(igdb_emulator_factory: EmulatorFactory) -> Emulator:
    return igdb_emulator_factory(config=EmulatorConfig.unthrottled())


class Pending:
    """One API request sent from a thread of its own, to be answered later."""

    def __init__(self, client: Client, endpoint: str, body: str) -> None:
        client.login()
        self.reply: Reply | None = None
        self._thread = threading.Thread(target=self._send, args=(client, endpoint, body))
        self._thread.start()

    def _send(self, client: Client, endpoint: str, body: str) -> None:
        self.reply = client.api(endpoint, body)

    def result(self) -> Reply:
        self._thread.join(timeout=WAIT_S)
        assert self.reply is not None, "the request was never answered"
        return self.reply


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {WAIT_S} s"
        time.sleep(0.01)  # polling the emulator's state; the deadline bounds the wait


def test_a_held_request_waits_unanswered_until_released_while_others_are_answered(
    emu: Emulator, connect: Connect
) -> None:
    client = connect(emu)
    emu.faults.add(Fault.hold(after=1, endpoint="genres"))
    assert client.api("genres", "fields id; limit 2;").status == 200  # the one let through

    held = Pending(connect(emu), "genres", "fields name; where id = 2;")
    assert emu.faults.wait_held(timeout=WAIT_S)
    assert emu.faults.held() == [HeldRequest("genres", "fields name; where id = 2;")]
    assert client.api("platforms", "fields id; limit 1;").status == 200  # not held
    assert client.api("genres", "fields id; limit 1;").status == 200  # one held: count=1
    assert held.reply is None

    assert emu.faults.release() == 1
    reply = held.result()
    assert (reply.status, reply.json()) == (200, [{"id": 2, "name": "Point-and-click"}])
    assert emu.faults.held() == []
    assert [entry.endpoint for entry in emu.request_log][-1] == "genres"


def test_a_held_request_is_handled_as_it_is_released_so_a_revoked_token_meets_it(
    emu: Emulator, connect: Connect
) -> None:
    emu.faults.add(Fault.hold())
    held = Pending(connect(emu), "genres", "fields id;")
    assert emu.faults.wait_held(timeout=WAIT_S)

    emu.faults.add(Fault.revoke_tokens())
    emu.faults.release()

    assert held.result().status == 401


def test_several_requests_are_held_one_after_another(emu: Emulator, connect: Connect) -> None:
    emu.faults.add(Fault.hold(count=2, endpoint="genres"))
    first = Pending(connect(emu), "genres", "fields id; limit 1;")
    assert emu.faults.wait_held(1, timeout=WAIT_S)
    emu.faults.release()
    assert first.result().status == 200
    assert not emu.faults.wait_held(2, timeout=0)

    second = Pending(connect(emu), "genres", "fields id; limit 1;")
    assert emu.faults.wait_held(2, timeout=WAIT_S)
    emu.faults.release()
    assert second.result().status == 200
    assert connect(emu).api("genres", "fields id; limit 1;").status == 200  # none left
    assert emu.faults.pending() == []


def test_without_a_count_every_request_is_held_until_the_faults_are_cleared(
    emu: Emulator, connect: Connect
) -> None:
    emu.faults.add(Fault.hold(count=None, endpoint="genres"))
    first = Pending(connect(emu), "genres", "fields id; limit 1;")
    second = Pending(connect(emu), "genres", "fields id; limit 2;")
    assert emu.faults.wait_held(2, timeout=WAIT_S)
    assert connect(emu).api("platforms", "fields id; limit 1;").status == 200

    emu.faults.release()
    assert [first.result().status, second.result().status] == [200, 200]
    third = Pending(connect(emu), "genres", "fields id; limit 3;")
    assert emu.faults.wait_held(3, timeout=WAIT_S)  # still holding
    emu.faults.clear()
    assert third.result().status == 200
    assert connect(emu).api("genres", "fields id; limit 1;").status == 200


def test_a_held_request_whose_client_hangs_up_is_let_go_without_a_release(
    emu: Emulator, connect: Connect
) -> None:
    token = connect(emu).login()
    emu.faults.add(Fault.hold())
    url = urllib.parse.urlsplit(emu.base_url)
    body = b"fields id;"
    with socket.create_connection((url.hostname or "", url.port or 0), timeout=WAIT_S) as raw:
        raw.sendall(
            b"POST /v4/genres HTTP/1.1\r\nHost: x\r\nClient-ID: " + emu.client_id.encode()
            + b"\r\nAuthorization: Bearer " + token.encode()
            + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )  # fmt: skip
        assert emu.faults.wait_held(timeout=WAIT_S)
    # Closed: as a client that timed out or was killed.

    until(lambda: emu.faults.held() == [], "the hung-up request was not let go")


def test_waiting_for_a_hold_that_never_comes_times_out(emu: Emulator) -> None:
    emu.faults.add(Fault.hold(after=5))

    assert not emu.faults.wait_held(timeout=0.05)
    assert emu.faults.release() == 0


def test_clearing_the_faults_releases_held_requests(emu: Emulator, connect: Connect) -> None:
    emu.faults.add(Fault.hold(count=3))
    held = Pending(connect(emu), "genres", "fields id; limit 1;")
    assert emu.faults.wait_held(timeout=WAIT_S)

    emu.faults.clear()

    assert held.result().status == 200
    assert connect(emu).api("genres", "fields id; limit 1;").status == 200


def test_stopping_the_emulator_ends_a_held_request(
    igdb_emulator_factory: EmulatorFactory, connect: Connect
) -> None:
    emulator = igdb_emulator_factory(config=EmulatorConfig.unthrottled())
    client = connect(emulator)
    client.login()
    emulator.faults.add(Fault.hold())
    outcome: list[BaseException | int] = []

    def send() -> None:
        try:
            outcome.append(client.api("genres", "fields id;").status)
        except OSError as error:  # the connection closed under it
            outcome.append(error)

    thread = threading.Thread(target=send)
    thread.start()
    assert emulator.faults.wait_held(timeout=WAIT_S)
    emulator.stop()
    thread.join(timeout=WAIT_S)

    assert not thread.is_alive()
    until(lambda: emulator.faults.held() == [], "the held request outlived the emulator")


def test_holds_through_the_admin_api(emu: Emulator, connect: Connect) -> None:
    admin = connect(emu)
    spec = {"kind": "hold", "after": 0, "count": None, "endpoint": "genres"}
    added = admin.admin("POST", "faults", spec)
    assert added.status == 200
    assert added.json()["pending"][0]["kind"] == "hold"
    held = Pending(connect(emu), "genres", "fields id; limit 1;")
    assert emu.faults.wait_held(timeout=WAIT_S)

    listed = admin.admin("GET", "held")
    released = admin.admin("POST", "release")

    assert listed.json() == {"held": [{"endpoint": "genres", "body": "fields id; limit 1;"}]}
    assert released.json() == {"released": 1}
    assert held.result().status == 200


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "hold", "after": -1}, "bad after"),
        ({"kind": "hold", "count": 0}, "count must be at least 1"),
        ({"kind": "hold", "seconds": 1}, "unknown fault fields for hold"),
    ],
)
def test_hold_rejects_bad_arguments(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault.from_spec(spec)
