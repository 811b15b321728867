"""How long the emulator takes to answer: none, per page (base + per record) or flat."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field


@dataclass
class LatencyModel:
    """Seconds per request. `jitter` is a +/- fraction drawn from a seeded generator."""

    base: float = 0.0
    per_record: float = 0.0
    jitter: float = 0.0
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.base < 0 or self.per_record < 0 or not 0 <= self.jitter < 1:
            raise ValueError("latency needs base >= 0, per_record >= 0 and 0 <= jitter < 1")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @classmethod
    def none(cls) -> LatencyModel:
        return cls()

    @classmethod
    def per_page(
        cls, base: float = 0.3, per_record: float = 0.0018, jitter: float = 0.0, seed: int = 0
    ) -> LatencyModel:
        return cls(base=base, per_record=per_record, jitter=jitter, seed=seed)

    @classmethod
    def flat(cls, seconds: float = 1.2, jitter: float = 0.0, seed: int = 0) -> LatencyModel:
        return cls(base=seconds, jitter=jitter, seed=seed)

    def delay(self, pages: list[int]) -> float:
        """Seconds for one request that returned `pages` (records per query; [] for errors).

        One `base` per request (a multiquery is one request) plus `per_record` for every
        record it returns: a 10 x 500 multiquery costs 0.3 + 0.0018 * 5000 = 9.3 s.
        """
        if self.base == 0 and self.per_record == 0:
            return 0.0
        seconds = self.base + self.per_record * sum(pages)
        if self.jitter:
            with self._lock:
                seconds *= 1 + self._rng.uniform(-self.jitter, self.jitter)
        return seconds
