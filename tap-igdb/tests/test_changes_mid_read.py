"""Records that change while the tap pages through a stream are read now or by the next run.

Keyset paging on id never skips or repeats a record because another one changed. What
can go wrong is the bookmark: a record the tap has already passed may change while it
reads on, and its new `updated_at` may be older than a record read later. The bookmark
must not pass such a record, whatever `lookback_seconds` is: it is capped at the newest
`updated_at` IGDB held when the read began (the SDK's replication-key signpost).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from igdb_emulator import Dataset, Emulator, EmulatorConfig, Fault
from igdb_emulator.pytest_plugin import EmulatorFactory

if TYPE_CHECKING:
    from conftest import EmulatorSettings, RunTap, TapRun

PAGING = {
    "multiquery": {"use_multiquery": True, "multiquery_pages": 2},
    "plain requests": {"use_multiquery": False},
}


@pytest.fixture
def emu(igdb_emulator_factory: EmulatorFactory) -> Emulator:
    return igdb_emulator_factory(Dataset.samples(), EmulatorConfig.unthrottled())


def latest(*runs: TapRun) -> dict[int, dict[str, Any]]:
    """The newest version of each game the runs read (later runs win ties)."""
    newest: dict[int, dict[str, Any]] = {}
    for run in runs:
        for record in run.records("games"):
            kept = newest.get(record["id"])
            if kept is None or record["updated_at"] >= kept["updated_at"]:
                newest[record["id"]] = record
    return newest


def unread(emu: Emulator, *runs: TapRun) -> list[dict[str, Any]]:
    """Source records whose current version no run read."""
    read = latest(*runs)
    return [game for game in emu.truth("games") if read.get(game["id"]) != game]


@pytest.mark.parametrize("paging", PAGING.values(), ids=PAGING.keys())
def test_the_bookmark_stays_behind_records_changed_mid_read(
    emu: Emulator, emulator_config: EmulatorSettings, run_tap: RunTap, paging: dict[str, Any]
) -> None:
    config = emulator_config(
        emu, page_size=50, max_open_requests=1, requests_per_second=100, **paging
    )
    config["lookback_seconds"] = 0  # no margin: the bookmark alone must be right
    before = {game["id"]: game for game in emu.truth("games")}
    emu.faults.add(Fault.change_during_read(after=1, changed=6, added=3, seconds=600))

    first = run_tap(config, streams=["games"])

    missed = unread(emu, first)
    assert {game["id"] for game in missed} >= set(sorted(before)[:3]), "the fault did not fire"
    bookmark = first.bookmark("games")
    assert all(game["updated_at"] > bookmark for game in missed), (bookmark, missed)
    assert bookmark == max(game["updated_at"] for game in before.values())

    second = run_tap(config, streams=["games"], state=first.state)

    assert unread(emu, first, second) == []
    assert second.bookmark("games") == max(game["updated_at"] for game in emu.truth("games"))


def test_without_changes_the_bookmark_is_the_newest_record_read(
    emu: Emulator, emulator_config: EmulatorSettings, run_tap: RunTap
) -> None:
    config = emulator_config(emu, page_size=50, requests_per_second=100)
    run = run_tap(config, streams=["games", "companies"])
    for stream in ("games", "companies"):
        assert run.bookmark(stream) == max(r["updated_at"] for r in emu.truth(stream))
