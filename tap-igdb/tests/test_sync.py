"""Behaviour against the real IGDB emulator (IGDB's limits unless a test says otherwise)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeAlias

import pytest
from igdb_emulator import Dataset, Emulator, EmulatorConfig
from igdb_emulator.pytest_plugin import EmulatorFactory
from tap_igdb.streams import STREAM_TYPES

if TYPE_CHECKING:
    from conftest import EmulatorSettings, RunTap, TapRun

ALL_STREAMS = [s.name for s in STREAM_TYPES]
FAST = {"requests_per_second": 100}

FullRun: TypeAlias = tuple[Emulator, "TapRun"]


@pytest.fixture(scope="module")
def full_run(run_tap: RunTap, emulator_config: EmulatorSettings) -> Iterator[FullRun]:
    """One sync of every stream against the samples, behind IGDB's real limits."""
    with Emulator(Dataset.samples(), EmulatorConfig()) as emu:
        yield emu, run_tap(emulator_config(emu))


def test_full_sync_extracts_every_record_exactly_once(full_run: FullRun) -> None:
    emu, run = full_run
    assert run.streams_with_records() == set(ALL_STREAMS)
    for stream in ALL_STREAMS:
        records = run.records(stream)
        assert sorted(records, key=lambda r: r["id"]) == emu.truth(stream), stream
        assert len({r["id"] for r in records}) == len(records), stream


def test_full_sync_respects_igdb_limits_and_fetches_one_token(full_run: FullRun) -> None:
    emu, _ = full_run
    api = [r for r in emu.request_log if r.endpoint != "oauth2/token"]
    assert Counter(r.status for r in api) == {200: len(api)}
    starts = sorted(r.time for r in api)
    for i in range(len(starts) - 4):
        assert starts[i + 4] - starts[i] >= 1.0, "5 requests within one second"
    assert emu.tokens_issued == 1


def test_no_state_run_frames_every_stream_with_one_table_version(full_run: FullRun) -> None:
    _, run = full_run
    for stream in ALL_STREAMS:
        kinds = [m["type"] for m in run.messages if m.get("stream") == stream]
        first_record = kinds.index("RECORD")
        last_record = len(kinds) - 1 - kinds[::-1].index("RECORD")
        assert kinds[first_record - 1] == "ACTIVATE_VERSION", stream
        assert kinds[last_record + 1] == "ACTIVATE_VERSION", stream
        assert kinds.count("ACTIVATE_VERSION") == 2, stream
        versions = {m["version"] for m in run.of_type("ACTIVATE_VERSION", stream)}
        assert len(versions) == 1, stream
        (version,) = versions
        assert version > 1_700_000_000_000  # epoch milliseconds
        assert {m.get("version") for m in run.of_type("RECORD", stream)} == {version}


def test_schema_messages_follow_the_contract(
    full_run: FullRun, incremental_streams: set[str]
) -> None:
    _, run = full_run
    for message in run.of_type("SCHEMA"):
        assert message["key_properties"] == ["id"]
        expected = ["updated_at"] if message["stream"] in incremental_streams else []
        assert (message.get("bookmark_properties") or []) == expected


def test_bookmarks_are_integer_max_updated_at(
    full_run: FullRun, incremental_streams: set[str]
) -> None:
    emu, run = full_run
    for stream in incremental_streams:
        bookmark = run.bookmark(stream)
        assert type(bookmark) is int, stream
        assert bookmark == max(r["updated_at"] for r in emu.truth(stream)), stream


def test_second_run_reads_only_changes_plus_lookback(
    igdb_emulator_factory: EmulatorFactory, emulator_config: EmulatorSettings, run_tap: RunTap
) -> None:
    emu = igdb_emulator_factory(config=EmulatorConfig.unthrottled())
    config = emulator_config(emu, **FAST, lookback_seconds=3600)
    first = run_tap(config, streams=["games"])
    bookmark = first.bookmark("games")

    emu.advance_day(changed=25, added=5, deleted=0)
    second = run_tap(config, streams=["games"], state=first.state)

    expected = {r["id"] for r in emu.truth("games") if r["updated_at"] >= bookmark - 3600}
    got = [r["id"] for r in second.records("games")]
    assert sorted(got) == sorted(expected)
    assert len(got) >= 30
    assert len(got) < len(emu.truth("games"))
    assert second.bookmark("games") == max(r["updated_at"] for r in emu.truth("games"))
    assert second.of_type("ACTIVATE_VERSION") == []
    assert all("version" not in m for m in second.of_type("RECORD"))


def test_start_date_bounds_the_first_incremental_run(
    igdb_emulator_factory: EmulatorFactory, emulator_config: EmulatorSettings, run_tap: RunTap
) -> None:
    emu = igdb_emulator_factory(config=EmulatorConfig.unthrottled())
    truth = emu.truth("games")
    cutoff = sorted(r["updated_at"] for r in truth)[len(truth) // 2]
    start = datetime.fromtimestamp(cutoff, tz=UTC)
    run = run_tap(emulator_config(emu, **FAST, start_date=start.isoformat()), streams=["games"])
    assert sorted(r["id"] for r in run.records("games")) == sorted(
        r["id"] for r in truth if r["updated_at"] >= cutoff
    )
    # Still a read from scratch: framed by a table version.
    assert len(run.of_type("ACTIVATE_VERSION", "games")) == 2


def test_multiquery_on_and_off_give_identical_records(
    igdb_emulator_factory: EmulatorFactory, emulator_config: EmulatorSettings, run_tap: RunTap
) -> None:
    emu = igdb_emulator_factory(
        dataset=Dataset.generate(games=3000, seed=7), config=EmulatorConfig.unthrottled()
    )
    streams = ["games", "platforms", "game_types"]
    common = {**FAST, "page_size": 100, "multiquery_pages": 4}
    with_mq = run_tap(emulator_config(emu, **common, use_multiquery=True), streams=streams)
    without = run_tap(emulator_config(emu, **common, use_multiquery=False), streams=streams)
    for stream in streams:
        truth = emu.truth(stream)
        assert sorted(with_mq.records(stream), key=lambda r: r["id"]) == truth
        assert sorted(without.records(stream), key=lambda r: r["id"]) == truth
    endpoints = Counter(r.endpoint for r in emu.request_log)
    assert endpoints["multiquery"] > 0
    assert endpoints["games"] > 0
