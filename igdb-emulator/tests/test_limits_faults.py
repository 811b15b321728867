"""Rate and concurrency limits, latency models and every injectable fault, over real sockets."""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING

import pytest
from igdb_emulator import Emulator, EmulatorConfig, Fault, LatencyModel
from igdb_emulator.limits import RequestLimiter
from igdb_emulator.pytest_plugin import EmulatorFactory

if TYPE_CHECKING:
    from conftest import Client, Connect


def test_limiter_sliding_window_ignores_rejected_requests() -> None:
    now = [0.0]
    limiter = RequestLimiter(2, None, clock=lambda: now[0])
    outcomes: list[bool] = []
    for moment in (0.0, 0.1, 0.2, 0.5, 1.01, 1.05, 1.11):
        now[0] = moment
        admitted = limiter.try_acquire()
        if admitted:
            limiter.release()
        outcomes.append(admitted)
    # 0.2 and 0.5 are rejected and do not count: at 1.01 only the 0.1 start is in the window.
    assert outcomes == [True, True, False, False, True, False, True]


def test_limiter_caps_open_requests() -> None:
    limiter = RequestLimiter(None, 2)
    assert limiter.try_acquire()
    assert limiter.try_acquire()
    assert not limiter.try_acquire()
    limiter.release()
    assert limiter.try_acquire()


def test_burst_over_four_per_second_gets_429_without_retry_after(
    igdb_emulator: Emulator, connect: Connect
) -> None:
    client = connect(igdb_emulator)
    client.login()
    replies = [client.api("genres", "fields id;") for _ in range(6)]
    assert [reply.status for reply in replies[:4]] == [200] * 4
    rejected = [reply for reply in replies[4:] if reply.status == 429]
    assert rejected
    assert rejected[0].json() == {"message": "Too Many Requests"}
    assert "retry-after" not in rejected[0].headers
    deadline = time.monotonic() + 3
    while client.api("genres", "fields id;").status == 429:
        assert time.monotonic() < deadline, "the window never reopened"


def test_more_than_max_open_requests_get_429(
    igdb_emulator_factory: EmulatorFactory, connect: Connect
) -> None:
    config = EmulatorConfig(
        requests_per_second=None, max_open_requests=2, latency=LatencyModel.flat(0.5)
    )
    emulator = igdb_emulator_factory(config=config)
    token = connect(emulator).login()
    clients = [connect(emulator) for _ in range(3)]
    statuses: list[int] = []
    barrier = threading.Barrier(3)

    def call(client: Client) -> None:
        barrier.wait()
        statuses.append(client.api("genres", "fields id;", token=token).status)

    threads = [threading.Thread(target=call, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(statuses) == [200, 200, 429]


def test_latency_models(igdb_emulator_factory: EmulatorFactory, connect: Connect) -> None:
    flat = igdb_emulator_factory(config=EmulatorConfig.unthrottled(latency=LatencyModel.flat(0.3)))
    started = time.monotonic()
    assert connect(flat).api("genres", "fields id;").status == 200
    assert time.monotonic() - started >= 0.3

    per_page = igdb_emulator_factory(
        config=EmulatorConfig.unthrottled(
            latency=LatencyModel.per_page(base=0.0, per_record=0.0005)
        )
    )
    client = connect(per_page)
    client.login()
    started = time.monotonic()
    assert len(client.api("games", "fields id; limit 400;").json()) == 400
    assert time.monotonic() - started >= 0.2
    assert per_page.request_log[-1].duration >= 0.2


def test_latency_jitter_is_bounded_and_seeded() -> None:
    first = [LatencyModel.per_page(1.0, 0.0, jitter=0.2, seed=3).delay([10]) for _ in range(1)]
    model = LatencyModel.per_page(1.0, 0.0, jitter=0.2, seed=3)
    delays = [model.delay([10]) for _ in range(50)]
    assert delays[0] == first[0]
    assert all(0.8 <= delay <= 1.2 for delay in delays)
    assert len(set(delays)) > 1
    assert LatencyModel.per_page(0.3, 0.001).delay([500, 500]) == pytest.approx(1.3)


@pytest.fixture
def open_emulator(igdb_emulator_factory: EmulatorFactory) -> Emulator:
    return igdb_emulator_factory(config=EmulatorConfig.unthrottled())


def test_rate_limit_fault(open_emulator: Emulator, connect: Connect) -> None:
    client = connect(open_emulator)
    open_emulator.faults.add(Fault.rate_limit(count=2))
    statuses = [client.api("genres", "fields id;").status for _ in range(3)]
    assert statuses == [429, 429, 200]


def test_server_error_fault_limited_to_one_endpoint(
    open_emulator: Emulator, connect: Connect
) -> None:
    client = connect(open_emulator)
    open_emulator.faults.add(Fault.server_error(count=1, endpoint="games"))
    assert client.api("genres", "fields id;").status == 200
    failed = client.api("games", "fields id;")
    assert (failed.status, failed.body) == (502, b"Bad Gateway")
    assert client.api("games", "fields id;").status == 200
    open_emulator.faults.add(Fault.server_error(count=1, status=503))
    assert client.api("games", "fields id;").status == 503


def test_slow_fault(open_emulator: Emulator, connect: Connect) -> None:
    client = connect(open_emulator)
    client.login()
    open_emulator.faults.add(Fault.slow(count=1, seconds=0.3))
    started = time.monotonic()
    assert client.api("genres", "fields id;").status == 200
    assert time.monotonic() - started >= 0.3


def test_truncated_and_invalid_json_faults(open_emulator: Emulator, connect: Connect) -> None:
    client = connect(open_emulator)
    good = client.api("genres", "fields *;").body
    open_emulator.faults.add(Fault.truncated_json(count=1))
    truncated = client.api("genres", "fields *;")
    assert truncated.status == 200
    assert good.startswith(truncated.body)
    assert len(truncated.body) < len(good)
    open_emulator.faults.add(Fault.invalid_json(count=1))
    invalid = client.api("genres", "fields *;")
    for broken in (truncated.body, invalid.body):
        with pytest.raises(json.JSONDecodeError):
            json.loads(broken)
    assert client.api("genres", "fields *;").body == good


def test_revoke_tokens_then_a_new_token_works(open_emulator: Emulator, connect: Connect) -> None:
    client = connect(open_emulator)
    client.login()
    open_emulator.faults.add(Fault.revoke_tokens())
    assert client.api("genres", "fields id;").status == 401
    client.login()
    assert client.api("genres", "fields id;").status == 200


def test_tokens_expire_after_n_requests(open_emulator: Emulator, connect: Connect) -> None:
    client = connect(open_emulator)
    client.login()
    open_emulator.faults.add(Fault.expire_tokens_after(requests=2))
    statuses = [client.api("genres", "fields id;").status for _ in range(3)]
    assert statuses == [200, 200, 401]
    client.login()
    assert client.api("genres", "fields id;").status == 200


def test_tokens_expire_after_their_ttl(
    igdb_emulator_factory: EmulatorFactory, connect: Connect
) -> None:
    emulator = igdb_emulator_factory(config=EmulatorConfig.unthrottled(token_ttl_seconds=1))
    client = connect(emulator)
    assert client.fetch_token().json()["expires_in"] == 1
    client.login()
    assert client.api("genres", "fields id;").status == 200
    deadline = time.monotonic() + 5
    while client.api("genres", "fields id;").status != 401:
        assert time.monotonic() < deadline, "token never expired"


def test_faults_clear(open_emulator: Emulator, connect: Connect) -> None:
    open_emulator.faults.add(Fault.server_error(count=5))
    open_emulator.faults.clear()
    assert connect(open_emulator).api("genres", "fields id;").status == 200


def test_latency_is_charged_per_request_not_per_query_of_a_multiquery() -> None:
    """The bench's models: a 10 x 500 multiquery costs 0.3 + 0.0018 * 5000 = 9.3 s per page
    model, and 1.2 s flat whatever the request holds; a single 500-record page 1.2 s."""
    per_page = LatencyModel.per_page(base=0.3, per_record=0.0018)
    flat = LatencyModel.flat(1.2)

    assert per_page.delay([500] * 10) == pytest.approx(9.3)
    assert per_page.delay([500]) == pytest.approx(1.2)
    assert flat.delay([500] * 10) == pytest.approx(1.2)
    assert flat.delay([]) == pytest.approx(1.2)
