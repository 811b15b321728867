"""One retry policy for every request of the run: IGDB's API and Twitch's token.

A transient failure is retried up to `max_retries` times. The wait before retry n
is `backoff_base_ms` x 2^(n-1), at most `backoff_max_ms`, cut at random to between
half and all of that (jitter), so workers that failed together do not retry
together. The sleep is a parameter, so tests check the waits without waiting.
"""

from __future__ import annotations

import random
import time
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tap_igdb.settings import RetrySettings

_T = t.TypeVar("_T")


class RetriesExhaustedError(Exception):
    """The last allowed attempt failed too, for `reason`."""

    def __init__(self, attempts: int, reason: str) -> None:
        super().__init__(reason)
        self.attempts = attempts
        self.reason = reason


def backoff_waits(settings: RetrySettings) -> Iterator[float]:
    """Seconds to wait before retry 1, 2, ..."""
    retry = 0
    while True:
        ceiling = min(settings.backoff_base_ms * 2**retry, settings.backoff_max_ms) / 1000
        yield ceiling * random.uniform(0.5, 1.0)
        retry += 1


def with_retries(
    attempt: Callable[[], _T],
    settings: RetrySettings,
    *,
    transient: Callable[[Exception], str | None],
    on_retry: Callable[[int, float, str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> _T:
    """`attempt()`, again after each failure `transient` gives a reason for (None:
    not transient, raised as it is); RetriesExhaustedError once they run out.

    `on_retry(failed_attempts, wait_seconds, reason)` runs before each wait.
    """
    waits = backoff_waits(settings)
    attempts = 0
    while True:
        attempts += 1
        try:
            return attempt()
        except Exception as exc:
            reason = transient(exc)
            if reason is None:
                raise
            if attempts >= settings.max_attempts:
                raise RetriesExhaustedError(attempts, reason) from None
            wait = next(waits)
            on_retry(attempts, wait, reason)
            sleep(wait)
