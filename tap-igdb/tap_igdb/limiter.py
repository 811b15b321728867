"""One request limiter shared by every request of a run (all streams, all threads).

IGDB allows 4 requests per second and 8 open requests; over either it answers 429.
The limiter schedules each request start so that no sliding window holds more than
the allowed burst, and caps the requests in flight with a semaphore.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class RequestLimiter:
    """Thread-safe: `with limiter.slot(): send()`."""

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
        # `burst` starts may share one window; 4/s -> 4 per 1 s, 0.5/s -> 1 per 2 s.
        self._burst = max(1, math.floor(requests_per_second))
        # The margin absorbs jitter between our clock and the server's arrival times.
        self._window = self._burst / requests_per_second + margin_seconds
        self._starts: deque[float] = deque(maxlen=self._burst)
        self._open = threading.BoundedSemaphore(max_open_requests)
        self._schedule_lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def acquire(self, timeout: float | None = None) -> bool:
        """Take an open-request slot, then wait for a start time; False on timeout.

        The start is recorded when the thread really goes, not when it was scheduled:
        a thread that wakes late (GIL, busy machine) must push the next window back,
        or the server sees the next burst too soon.
        """
        if not self._open.acquire(timeout=timeout):
            return False
        while True:
            with self._schedule_lock:
                now = self._clock()
                if len(self._starts) < self._burst or now >= self._starts[0] + self._window:
                    self._starts.append(now)
                    return True
                wait = self._starts[0] + self._window - now
            self._sleep(wait)

    def release(self) -> None:
        """Give the open-request slot back once the response has been read."""
        self._open.release()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one request slot for the duration of the block."""
        self.acquire()
        try:
            yield
        finally:
            self.release()
