"""The shared request limiter: start rate in any sliding window, and open requests."""

import itertools
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


def send_times(
    limiter: RequestLimiter, clock: FakeClock, delays_before_send: list[float]
) -> list[float]:
    """One request per delay: a slot, the delay (building the request, a thread starved
    of the GIL), then the socket gate; the times the requests went out."""
    times = []
    for delay in delays_before_send:
        with limiter.slot():
            clock.sleep(delay)
            limiter.sending()
            times.append(round(clock(), 6))
            limiter.sent()
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


def test_a_late_wake_up_never_puts_more_sends_in_a_window() -> None:
    """A thread that wakes late (GIL, a busy machine) sends late: the socket gate counts
    the window from when requests really went, as the server will."""
    clock = FakeClock()
    oversleeps = [0.3]  # the first wake-up is late, the next ones on time

    def late_sleep(seconds: float) -> None:
        clock.sleep(seconds + (oversleeps.pop() if oversleeps else 0.0))

    limiter = RequestLimiter(4, 8, margin_seconds=0.0, clock=clock, sleep=late_sleep)
    sent = send_times(limiter, clock, [0.0] * 12)

    for i in range(len(sent) - 4):
        assert sent[i + 4] - sent[i] >= 1.0 - 1e-9, sent


def test_the_socket_gate_keeps_every_window_whatever_the_delays_before_sending() -> None:
    clock = FakeClock()
    limiter = RequestLimiter(4, 8, margin_seconds=0.1, clock=clock, sleep=clock.sleep)
    delays = [0.3, 0.0, 0.0, 0.0, 0.25, 0.0, 0.1, 0.0, 0.0, 0.3, 0.0, 0.0] * 3

    sent = send_times(limiter, clock, delays)

    for i in range(len(sent) - 4):
        assert sent[i + 4] - sent[i] >= 1.1 - 1e-9, sent
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    assert min(gaps) >= 0.1375 - 1e-9  # and never two at once: half a spacing apart at least


def test_a_steady_delay_before_sending_does_not_slow_the_run_down() -> None:
    """Starts are spaced from the previous start, not from its send: a thread that takes
    a while to build and write its request does not push every later request back
    (it did: 187 requests at 4/s took 10 s longer than their spacing)."""
    clock = FakeClock()
    limiter = RequestLimiter(4, 8, margin_seconds=0.1, clock=clock, sleep=clock.sleep)

    sent = send_times(limiter, clock, [0.05] * 41)

    assert sent[-1] - sent[0] == pytest.approx(40 * 0.275)


def test_a_reserved_start_is_used_by_the_next_slot() -> None:
    """The reader reserves a start before it picks the job to send (reader.py)."""
    clock = FakeClock()
    limiter = RequestLimiter(4, 8, margin_seconds=0.0, clock=clock, sleep=clock.sleep)
    start_times(limiter, clock, 1)
    limiter.reserve()
    assert clock() == 0.25  # waited for its start
    clock.sleep(0.1)  # picking the job, building the request
    with limiter.slot():
        assert clock() == 0.35  # no second wait
    assert start_times(limiter, clock, 1) == [0.5]  # spaced from the start


def test_a_cancelled_reservation_gives_the_open_slot_back() -> None:
    limiter = RequestLimiter(1000, 1)
    limiter.reserve()
    assert not limiter.acquire(timeout=0)
    limiter.cancel_reservation()
    assert limiter.acquire(timeout=0)
