"""IGDB's request limits: N requests started per sliding second, M requests open at once."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RequestLimiter:
    def __init__(
        self,
        requests_per_second: float | None,
        max_open_requests: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.requests_per_second = requests_per_second
        self.max_open_requests = max_open_requests
        self._starts: deque[float] = deque()
        self._open = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        """Admit one request, or False (429). Rejected requests do not count in the window."""
        now = self._clock()
        with self._lock:
            while self._starts and self._starts[0] <= now - 1.0:
                self._starts.popleft()
            if (
                self.requests_per_second is not None
                and len(self._starts) + 1 > self.requests_per_second
            ):
                return False
            if self.max_open_requests is not None and self._open >= self.max_open_requests:
                return False
            self._starts.append(now)
            self._open += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._open -= 1

    @property
    def open_requests(self) -> int:
        with self._lock:
            return self._open
