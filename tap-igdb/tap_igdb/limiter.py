"""One request limiter shared by every request of a run (all streams, all threads).

IGDB allows 4 requests per second and 8 open requests; over either it answers 429.
The limiter spaces request starts evenly, one every `(1 + margin) / rate` seconds, so
no second holds more than the allowed starts, and caps the requests in flight with a
semaphore.

Evenly, not in bursts: IGDB counts a request when it reaches its limiter, and requests
that arrive together are counted late, one after another, by a busy server. Four
requests started at once on the emulator reached its limiter up to 0.3 s apart, so
the next burst, one window later, met the last of them inside the same second (a
429). Spaced out they arrive within a few milliseconds of their start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class RequestLimiter:
    """Thread-safe: `with limiter.slot(): send()`."""

    def __init__(
        self,
        requests_per_second: float,
        max_open_requests: int,
        *,
        margin_seconds: float = 0.15,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests_per_second <= 0:
            msg = f"requests_per_second must be > 0, got {requests_per_second}"
            raise ValueError(msg)
        if max_open_requests < 1:
            msg = f"max_open_requests must be >= 1, got {max_open_requests}"
            raise ValueError(msg)
        # 4/s with a 0.15 s margin: one start every 0.2875 s, so 4 starts span 1.15 s.
        # The margin absorbs jitter between our clock and the server's arrival times:
        # a busy emulator counted requests up to ~80 ms late, enough to eat 0.1 s
        # once in 200 requests (docs/performance.md). It costs ~5% when the rate,
        # not the open requests, is what binds.
        self._interval = (1 + margin_seconds) / requests_per_second
        self._last_start: float | None = None
        self._open = threading.BoundedSemaphore(max_open_requests)
        self._schedule_lock = threading.Lock()
        self._reserved = threading.local()
        self._clock = clock
        self._sleep = sleep

    def acquire(self, timeout: float | None = None) -> bool:
        """Take an open-request slot, then wait for a start time; False on timeout.

        The start is recorded when the thread really goes, not when it was scheduled:
        a thread that wakes late (GIL, busy machine) must push the next start back, or
        the server sees two starts too close together.
        """
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

    def sent(self) -> None:
        """The request just went out (http.py): space the next start from now."""
        with self._schedule_lock:
            self._last_start = max(self._last_start or 0.0, self._clock())

    def reserve(self) -> None:
        """Acquire now for this thread's next `slot()`: a caller that decides what to
        send only once it may start (reader.py) waits here, then picks."""
        self.acquire()
        self._reserved.held = True

    def cancel_reservation(self) -> None:
        """Give back a reservation that found nothing to send (its start is spent)."""
        if getattr(self._reserved, "held", False):
            self._reserved.held = False
            self.release()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one request slot for the duration of the block (this thread's
        reservation, if it has one, dated again now that the request really goes)."""
        if getattr(self._reserved, "held", False):
            self._reserved.held = False
            with self._schedule_lock:
                self._last_start = max(self._last_start or 0.0, self._clock())
        else:
            self.acquire()
        try:
            yield
        finally:
            self.release()
