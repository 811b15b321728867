"""Periodic progress lines for long streams: records so far, rate and ETA."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class Progress:
    """Logs at most once per `interval` seconds; call `advance` as responses arrive."""

    def __init__(
        self,
        logger: logging.Logger,
        stream: str,
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._stream = stream
        self._interval = interval
        self._clock = clock
        self._started = clock()
        self._next_log = self._started + interval
        self.records = 0
        self.expected: int | None = None

    def advance(self, records: int) -> None:
        """Count `records` more; log a line when the interval has passed."""
        self.records += records
        now = self._clock()
        if now >= self._next_log:
            self._next_log = now + self._interval
            self._logger.info("%s", self.describe(now))

    def describe(self, now: float | None = None) -> str:
        """`games: 12,000 of ~374,555 records (3.2%), 2,400 records/s, ETA 2m30s`."""
        elapsed = max((now if now is not None else self._clock()) - self._started, 1e-9)
        rate = self.records / elapsed
        line = f"{self._stream}: {self.records:,}"
        if self.expected:
            share = min(self.records / self.expected, 1.0)
            line += f" of ~{self.expected:,} records ({share:.1%})"
        else:
            line += " records"
        line += f", {rate:,.0f} records/s"
        if self.expected and rate > 0:
            line += f", ETA {_duration(max(self.expected - self.records, 0) / rate)}"
        return line


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
