"""What the source's limits cost at best: the floor for the requests a run made.

With N requests started at most R per second and at most M open at once, each
holding its connection for its latency, no client can finish sooner than
max(N / R, total latency / M).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

IGDB_REQUESTS_PER_SECOND = 4.0
IGDB_MAX_OPEN_REQUESTS = 8
TOKEN_ENDPOINT = "oauth2/token"  # noqa: S105 - a URL path, not a secret; Twitch's, not IGDB's: outside IGDB's limits
TOO_MANY_REQUESTS = 429


@dataclass(frozen=True)
class SourceLoad:
    """The API requests of one step, from the emulator's request log."""

    requests: int  # API requests made, rejected ones included
    rejected: int  # 429s received
    token_requests: int
    latency_s: float  # summed duration of the accepted requests
    floor_s: float


def source_load(
    log: Iterable[Mapping[str, Any]],
    requests_per_second: float = IGDB_REQUESTS_PER_SECOND,
    max_open_requests: int = IGDB_MAX_OPEN_REQUESTS,
) -> SourceLoad:
    """Count and time the API requests; a 429 takes no rate slot, so it adds no floor."""
    requests = rejected = tokens = 0
    latency = 0.0
    for entry in log:
        if entry["endpoint"] == TOKEN_ENDPOINT:
            tokens += 1
            continue
        requests += 1
        if entry["status"] == TOO_MANY_REQUESTS:
            rejected += 1
        else:
            latency += float(entry["duration"])
    accepted = requests - rejected
    floor = max(accepted / requests_per_second, latency / max_open_requests)
    return SourceLoad(requests, rejected, tokens, latency, floor)


def ratio_to_floor(wall_s: float, floor_s: float) -> float | None:
    """Our time as a multiple of the floor; None when there is no floor to compare with."""
    return wall_s / floor_s if floor_s > 0 else None
