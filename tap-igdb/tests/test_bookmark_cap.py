"""A bookmark never passes data not yet read: it is at most the tap's start time.

A source whose clock runs ahead of the tap's (clock skew) stamps records with an
`updated_at` in the tap's future. Were the bookmark that future value, every record
updated between the tap's start and that moment would be skipped by the next run
(lookback or not). So the saved bookmark is at most the tap's start time, on the
tap's clock, which the tests set from the emulator's simulated time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from igdb_emulator import EmulatorConfig

if TYPE_CHECKING:
    from igdb_emulator.pytest_plugin import EmulatorFactory

    from conftest import EmulatorSettings, RunTap

HOUR = 3600
LOOKBACK = HOUR


@pytest.mark.fault_matrix(
    fault="records with updated_at after the tap's start (clock skew at the source)",
    injected="emulator (IGDB's clock a day ahead of the tap's)",
    outcome="survived: bookmark capped at the tap's start time, records read again next run",
    check="bookmark == start time; the next run reads every record from start - lookback",
)
def test_a_future_updated_at_never_moves_the_bookmark_past_the_tap_start(
    igdb_emulator_factory: EmulatorFactory, emulator_config: EmulatorSettings, run_tap: RunTap
) -> None:
    emu = igdb_emulator_factory(config=EmulatorConfig.unthrottled())
    config = emulator_config(emu, requests_per_second=100, lookback_seconds=LOOKBACK)
    # The source's day of changes is stamped over the next 24 hours of its clock; the
    # tap starts 12 hours in: half of those changes lie in the tap's future.
    tap_started = emu.now + 12 * HOUR
    emu.advance_day(changed=40, added=10, deleted=0, endpoint="games")
    future = {r["id"] for r in emu.truth("games") if r["updated_at"] > tap_started}
    assert 0 < len(future) < 50, "the day's changes should straddle the tap's start"

    first = run_tap(config, streams=["games"], clock=lambda: tap_started)

    assert {r["id"] for r in first.records("games")} >= future  # read, yet not bookmarked
    assert first.bookmark("games") == tap_started

    # The next run (the tap's clock has caught up) reads from the start minus the
    # lookback: every record of the source's future again, and the bookmark moves on.
    tap_later = emu.now + HOUR
    second = run_tap(config, streams=["games"], state=first.state, clock=lambda: tap_later)

    expected = {r["id"] for r in emu.truth("games") if r["updated_at"] >= tap_started - LOOKBACK}
    assert {r["id"] for r in second.records("games")} == expected
    assert expected >= future
    assert second.bookmark("games") == max(r["updated_at"] for r in emu.truth("games"))


def test_without_clock_skew_the_bookmark_is_the_newest_record(
    igdb_emulator_factory: EmulatorFactory, emulator_config: EmulatorSettings, run_tap: RunTap
) -> None:
    """The cap changes nothing when the tap's clock is at or after the source's."""
    emu = igdb_emulator_factory(config=EmulatorConfig.unthrottled())
    config = emulator_config(emu, requests_per_second=100)
    newest = max(r["updated_at"] for r in emu.truth("games"))

    run = run_tap(config, streams=["games"], clock=lambda: emu.now)

    assert newest <= emu.now
    assert run.bookmark("games") == newest
