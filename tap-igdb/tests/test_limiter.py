"""The shared request limiter: start rate in any sliding window, and open requests."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from tap_igdb.limiter import RequestLimiter


class FakeClock:
    """A monotonic clock that only moves when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def start_times(limiter: RequestLimiter, clock: FakeClock, count: int) -> list[float]:
    times = []
    for _ in range(count):
        with limiter.slot():
            times.append(round(clock(), 6))
    return times


def test_starts_are_spread_evenly_not_in_bursts() -> None:
    """Requests that reach IGDB together are counted late by a busy server (limiter.py)."""
    clock = FakeClock()
    limiter = RequestLimiter(4, 8, margin_seconds=0.0, clock=clock, sleep=clock.sleep)
    assert start_times(limiter, clock, 9) == [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]


def test_margin_widens_the_spacing() -> None:
    clock = FakeClock()
    limiter = RequestLimiter(4, 8, margin_seconds=0.1, clock=clock, sleep=clock.sleep)
    assert start_times(limiter, clock, 6) == [0, 0.275, 0.55, 0.825, 1.1, 1.375]


def test_the_default_margin_absorbs_a_server_counting_requests_up_to_0_14_s_late() -> None:
    """IGDB counts a request when it reaches its limiter: the emulator, when busy,
    counted ours up to ~80 ms late (docs/performance.md). Worst case: the first
    of five requests counted late, the fifth on time."""
    clock = FakeClock()
    limiter = RequestLimiter(4, 8, clock=clock, sleep=clock.sleep)
    starts = start_times(limiter, clock, 200)
    counted = [start + (0.14 if index % 5 == 0 else 0.0) for index, start in enumerate(starts)]
    counted.sort()
    # The server's rule: at most 4 requests counted in any one second.
    assert all(later - earlier >= 1.0 for earlier, later in zip(counted, counted[4:], strict=False))


def test_an_idle_limiter_starts_at_once() -> None:
    clock = FakeClock()
    limiter = RequestLimiter(4, 8, margin_seconds=0.1, clock=clock, sleep=clock.sleep)
    start_times(limiter, clock, 1)
    clock.sleep(5.0)
    assert start_times(limiter, clock, 2) == [5.0, 5.275]


def test_never_more_than_the_rate_in_any_sliding_window() -> None:
    clock = FakeClock()
    limiter = RequestLimiter(4, 8, margin_seconds=0.0, clock=clock, sleep=clock.sleep)
    times = []
    for step in range(40):
        clock.sleep(0.13 * (step % 3))  # irregular gaps between calls
        with limiter.slot():
            times.append(clock())
    for i in range(len(times) - 4):
        assert times[i + 4] - times[i] >= 1.0 - 1e-9


def test_fractional_rate_spaces_requests() -> None:
    clock = FakeClock()
    limiter = RequestLimiter(0.5, 1, margin_seconds=0.0, clock=clock, sleep=clock.sleep)
    assert start_times(limiter, clock, 3) == [0, 2, 4]


def test_open_requests_are_capped() -> None:
    limiter = RequestLimiter(1000, 2)
    assert limiter.acquire(timeout=0)
    assert limiter.acquire(timeout=0)
    assert not limiter.acquire(timeout=0)
    limiter.release()
    assert limiter.acquire(timeout=0)


def test_open_requests_capped_across_threads() -> None:
    limiter = RequestLimiter(1_000_000, 3)
    lock = threading.Lock()
    open_now = 0
    peak = 0

    def request(_: int) -> None:
        nonlocal open_now, peak
        with limiter.slot():
            with lock:
                open_now += 1
                peak = max(peak, open_now)
            with lock:
                open_now -= 1

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(request, range(500)))
    assert 1 <= peak <= 3


@pytest.mark.parametrize(("rate", "open_max"), [(0, 1), (-1, 1), (4, 0)])
def test_rejects_nonsense_limits(rate: float, open_max: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        RequestLimiter(rate, open_max)


def test_a_late_wake_up_pushes_the_next_window_back() -> None:
    """A thread that wakes late (GIL, a busy machine) sends late; the window must start
    from when it really went, or the server sees the next burst too soon."""
    clock = FakeClock()
    oversleeps = [0.3]  # the first wake-up is late, the next ones on time

    def late_sleep(seconds: float) -> None:
        clock.sleep(seconds + (oversleeps.pop() if oversleeps else 0.0))

    limiter = RequestLimiter(4, 8, margin_seconds=0.0, clock=clock, sleep=late_sleep)
    sent = start_times(limiter, clock, 12)

    for i in range(len(sent) - 4):
        assert sent[i + 4] - sent[i] >= 1.0 - 1e-9, sent


def test_a_reserved_start_is_used_by_the_next_slot_and_dated_when_it_really_goes() -> None:
    """The reader reserves a start before it picks the job to send (reader.py)."""
    clock = FakeClock()
    limiter = RequestLimiter(4, 8, margin_seconds=0.0, clock=clock, sleep=clock.sleep)
    start_times(limiter, clock, 1)
    limiter.reserve()
    assert clock() == 0.25  # waited for its start
    clock.sleep(0.1)  # picking the job, building the request
    with limiter.slot():
        assert clock() == 0.35  # no second wait
    assert start_times(limiter, clock, 1) == [0.6]  # spaced from the real start


def test_a_cancelled_reservation_gives_the_open_slot_back() -> None:
    limiter = RequestLimiter(1000, 1)
    limiter.reserve()
    assert not limiter.acquire(timeout=0)
    limiter.cancel_reservation()
    assert limiter.acquire(timeout=0)


def test_a_start_is_dated_again_when_the_request_is_really_sent() -> None:
    """A thread starved between its start and its send (GIL, busy machine) sends late:
    the next start is spaced from the send, as the server will count it."""
    clock = FakeClock()
    limiter = RequestLimiter(4, 8, margin_seconds=0.0, clock=clock, sleep=clock.sleep)
    with limiter.slot():
        clock.sleep(0.2)
        limiter.sent()
    assert start_times(limiter, clock, 1) == [0.45]
