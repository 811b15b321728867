"""One request limiter shared by every request of a run (all streams, all threads).

IGDB allows 4 requests per second and 8 open requests; over either it answers 429.
Two checks keep a run under both:

- `slot()` (or `reserve()`) caps the requests in flight with a semaphore and spaces
  request starts evenly, one every `(1 + margin) / rate` seconds from the previous
  start;
- `sending()`, called as the request is about to be written to the socket (http.py),
  holds it until no more than `rate` requests went out in the last `1 + margin`
  seconds, counted from when they really went, and never within half a spacing of
  the previous one.

Evenly, not in bursts: IGDB counts a request when it reaches its limiter, and requests
that arrive together are counted late, one after another, by a busy server. Four
requests started at once on the emulator reached its limiter up to 0.3 s apart, so
the next burst, one window later, met the last of them inside the same second (a
429). Spaced out they arrive within a few milliseconds of their start.

The window is kept at the socket, not at the start: a thread starved between its
start and its send (the GIL, a busy machine) must not put a fifth request into the
server's second, and must not push every later start back either, as dating the
starts again at the send did (187 requests at 4/s lost 10 s that way).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class RequestLimiter:
    """Thread-safe: `with limiter.slot(): send()`, where the send calls `sending()` just
    before it writes the request and `sent()` just after."""

    def __init__(
        self,
        requests_per_second: float,
        max_open_requests: int,
        *,
        margin_seconds: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests_per_second <= 0:
            msg = f"requests_per_second must be > 0, got {requests_per_second}"
            raise ValueError(msg)
        if max_open_requests < 1:
            msg = f"max_open_requests must be >= 1, got {max_open_requests}"
            raise ValueError(msg)
        # 4/s with a 0.1 s margin: one start every 0.275 s, and at most 4 sends in any
        # 1.1 s. The margin absorbs jitter between our clock and the server's arrivals.
        self._interval = (1 + margin_seconds) / requests_per_second
        per_window = max(1, math.floor(requests_per_second))
        self._window = per_window * self._interval
        self._min_gap = self._interval / 2
        self._last_start: float | None = None
        self._sends: deque[list[float]] = deque(maxlen=per_window)  # [time] of each send
        self._open = threading.BoundedSemaphore(max_open_requests)
        self._schedule_lock = threading.Lock()
        self._local = threading.local()
        self._clock = clock
        self._sleep = sleep

    def acquire(self, timeout: float | None = None) -> bool:
        """Take an open-request slot, then wait for a start time; False on timeout."""
        if not self._open.acquire(timeout=timeout):
            return False
        while True:
            with self._schedule_lock:
                now = self._clock()
                last = self._last_start
                if last is None or now >= last + self._interval:
                    self._last_start = now
                    return True
                wait = last + self._interval - now
            self._sleep(wait)

    def release(self) -> None:
        """Give the open-request slot back once the response has been read."""
        self._open.release()

    def sending(self) -> None:
        """The request is about to be written to the socket: wait until it may go."""
        while True:
            with self._schedule_lock:
                now = self._clock()
                ready = self._sends[-1][0] + self._min_gap if self._sends else now
                if len(self._sends) == self._sends.maxlen:
                    ready = max(ready, self._sends[0][0] + self._window)
                if now >= ready:
                    went = [now]
                    self._sends.append(went)
                    self._local.went = went
                    return
                wait = ready - now
            self._sleep(wait)

    def sent(self) -> None:
        """The request has been written: count it from now, the later of the two times."""
        went = getattr(self._local, "went", None)
        if went is not None:
            self._local.went = None
            with self._schedule_lock:
                went[0] = max(went[0], self._clock())

    def reserve(self) -> None:
        """Acquire now for this thread's next `slot()`: a caller that decides what to
        send only once it may start (reader.py) waits here, then picks."""
        self.acquire()
        self._local.reserved = True

    def cancel_reservation(self) -> None:
        """Give back a reservation that found nothing to send (its start is spent)."""
        if getattr(self._local, "reserved", False):
            self._local.reserved = False
            self.release()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one request slot for the duration of the block (this thread's
        reservation, if it has one)."""
        if getattr(self._local, "reserved", False):
            self._local.reserved = False
        else:
            self.acquire()
        try:
            yield
        finally:
            self.release()
