"""The benchmark scenarios: a source setting (limits and latency), a lake and a selection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["unthrottled", "per-page", "flat"]
LakeKind = Literal["local", "s3"]


@dataclass(frozen=True)
class Scenario:
    name: str
    source: Source
    lake: LakeKind
    description: str
    # False: the tap's default selection (the main job's); True: all 74 streams, each
    # incremental one changed by the day of changes.
    every_stream: bool = False

    @property
    def throttled(self) -> bool:
        """IGDB's limits (4 requests/s, 8 open, 10 MB) apply at the source."""
        return self.source != "unthrottled"


SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("unthrottled-local", "unthrottled", "local", "no limits, no latency; local lake"),
        Scenario("unthrottled-s3", "unthrottled", "s3", "no limits, no latency; SeaweedFS lake"),
        Scenario(
            "igdb-per-page",
            "per-page",
            "local",
            "IGDB limits; 0.3 s per request + 1.8 ms per record",
        ),
        Scenario("igdb-flat", "flat", "local", "IGDB limits; 1.2 s per request"),
        Scenario(
            "every-stream-per-page",
            "per-page",
            "local",
            "every stream selected; IGDB limits; 0.3 s per request + 1.8 ms per record",
            every_stream=True,
        ),
    )
}

STEPS = ("full-refresh-el", "dbt-build", "incremental-day")
