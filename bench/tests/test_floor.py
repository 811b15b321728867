"""The floor IGDB's limits impose on the requests a run made."""

from __future__ import annotations

import pytest

from bench.floor import ratio_to_floor, source_load


def _request(endpoint: str, status: int = 200, duration: float = 0.0) -> dict[str, object]:
    return {"time": 0.0, "endpoint": endpoint, "body": "", "status": status, "duration": duration}


def test_latency_bound_floor_for_multiqueries_of_ten_full_pages() -> None:
    # 10 pages of 500 at 0.3 s + 1.8 ms per record: 9.3 s per request.
    log = [_request("oauth2/token")] + [_request("multiquery", duration=9.3)] * 75

    load = source_load(log)

    assert load.requests == 75
    assert load.token_requests == 1
    assert load.rejected == 0
    assert load.latency_s == pytest.approx(697.5)
    assert load.floor_s == pytest.approx(697.5 / 8)  # latency / 8 open > 75 / 4 per s


def test_rate_bound_floor_when_requests_are_fast() -> None:
    log = [_request("games", duration=0.01)] * 690

    assert source_load(log).floor_s == pytest.approx(690 / 4)


def test_rejected_requests_are_counted_and_do_not_raise_the_floor() -> None:
    log = [_request("games", duration=1.0)] * 8 + [_request("games", 429, 0.001)] * 3

    load = source_load(log)

    assert load.requests == 11
    assert load.rejected == 3
    assert load.floor_s == pytest.approx(2.0)  # 8 accepted / 4 per s


def test_limits_are_parameters() -> None:
    log = [_request("games", duration=2.0)] * 10

    assert source_load(log, requests_per_second=100, max_open_requests=2).floor_s == 10.0


def test_ratio_to_floor() -> None:
    assert ratio_to_floor(120.0, 100.0) == pytest.approx(1.2)
    assert ratio_to_floor(5.0, 0.0) is None
