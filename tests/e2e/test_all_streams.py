"""Every one of IGDB's 74 endpoints, end to end: one sequence of real `meltano` runs with
every stream selected, then assertions per stream (issue "all of IGDB").

The sequence (run once for the module): a first run (EL and the dbt staging models), a
day of changes at the source on every incremental endpoint, a daily run, and a full
refresh. Each test then checks one stream at one step, so a failure names the stream.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
from igdb_emulator import Dataset, Emulator, EmulatorConfig
from tap_igdb.streams import STREAM_TYPES, IncrementalStream

from tests.e2e.conftest import Pipeline, pipeline_environment
from tests.support.lake import Record, listed_records, require_manifest, source_fields

STREAMS = tuple(stream.name for stream in STREAM_TYPES)
INCREMENTAL = tuple(s.name for s in STREAM_TYPES if issubclass(s, IncrementalStream))
SNAPSHOTS = tuple(name for name in STREAMS if name not in INCREMENTAL)
LOOKBACK = 3600
EVERYTHING = {
    "TAP_IGDB__SELECT": json.dumps(["*.*"]),
    # The source is unthrottled: the sequence checks data, not pacing.
    "TAP_IGDB_REQUESTS_PER_SECOND": "100",
}
CHANGED_PER_STREAM = 3


@dataclass
class Sequence:
    """What the runs left, captured after each step."""

    pipeline: Pipeline
    first: dict[str, dict[str, Any]] = field(default_factory=dict)  # manifests
    first_records: dict[str, list[Record]] = field(default_factory=dict)  # what run 1 landed
    bookmarks: dict[str, int] = field(default_factory=dict)  # after the first run
    changed: dict[str, set[int]] = field(default_factory=dict)
    daily: dict[str, list[Record]] = field(default_factory=dict)  # what run 2 landed
    daily_truth: dict[str, list[Record]] = field(default_factory=dict)
    staged: dict[str, int] = field(default_factory=dict)  # rows per staging model
    refreshed: dict[str, dict[str, Any]] = field(default_factory=dict)
    refreshed_records: dict[str, list[Record]] = field(default_factory=dict)
    refreshed_truth: dict[str, list[Record]] = field(default_factory=dict)
    truth: dict[str, list[Record]] = field(default_factory=dict)  # before the day


def staged_rows(database: Path) -> dict[str, int]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return {
            stream: connection.execute(f"select count(*) from stg_igdb__{stream}").fetchone()[0]  # type: ignore[index]
            for stream in STREAMS
        }


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sequence]:
    workdir = tmp_path_factory.mktemp("all-streams")
    dataset = Dataset.generate(games=400, seed=11)
    with Emulator(dataset, EmulatorConfig.unthrottled()) as emulator:
        pipeline = Pipeline(workdir, emulator, pipeline_environment(workdir, emulator))
        pipeline.env.update(EVERYTHING)
        run = Sequence(pipeline)

        pipeline.meltano("run", "tap-igdb", "target-s3", "dbt-duckdb:run")
        run.truth = {stream: emulator.truth(stream) for stream in STREAMS}
        run.staged = staged_rows(workdir / "igdb.duckdb")
        for stream in STREAMS:
            run.first[stream] = require_manifest(pipeline.lake, stream)
            run.first_records[stream] = listed_records(pipeline.lake, stream)
        bookmarks = pipeline.state()["singer_state"]["bookmarks"]
        run.bookmarks = {s: bookmarks[s]["replication_key_value"] for s in INCREMENTAL}

        day = {s: {"changed": min(CHANGED_PER_STREAM, len(run.truth[s]))} for s in INCREMENTAL}
        for change in emulator.one_day(day):  # one day at IGDB, every incremental endpoint
            run.changed[change.endpoint] = set(change.changed)
        pipeline.meltano("run", "tap-igdb", "target-s3")
        for stream in STREAMS:
            run.daily_truth[stream] = emulator.truth(stream)
            records = listed_records(pipeline.lake, stream)
            run.daily[stream] = (
                records[len(run.first_records[stream]) :] if stream in INCREMENTAL else records
            )

        pipeline.meltano("run", "--full-refresh", "tap-igdb", "target-s3")
        for stream in STREAMS:
            run.refreshed[stream] = require_manifest(pipeline.lake, stream)
            run.refreshed_records[stream] = listed_records(pipeline.lake, stream)
            run.refreshed_truth[stream] = emulator.truth(stream)
        yield run


def exactly(records: list[Record], truth: list[Record], stream: str) -> None:
    landed = [source_fields(record) for record in records]
    twice = [i for i, n in Counter(r["id"] for r in landed).items() if n > 1]
    assert not twice, f"{stream}: ids listed twice: {twice[:5]}"
    assert sorted(landed, key=lambda r: r["id"]) == truth, stream


def test_the_source_has_records_for_every_stream(sequence: Sequence) -> None:
    empty = [stream for stream in STREAMS if not sequence.truth[stream]]
    assert not empty
    assert len(STREAMS) == 74


@pytest.mark.parametrize("stream", STREAMS)
def test_the_first_run_lands_and_stages_exactly_the_source(sequence: Sequence, stream: str) -> None:
    truth = sequence.truth[stream]
    exactly(sequence.first_records[stream], truth, stream)
    layout = "incremental" if stream in INCREMENTAL else "snapshot"
    assert sequence.first[stream]["layout"] == layout
    assert sequence.staged[stream] == len(truth)


@pytest.mark.parametrize("stream", INCREMENTAL)
def test_a_day_later_only_changes_and_the_lookback_overlap_are_read(
    sequence: Sequence, stream: str
) -> None:
    bookmark = sequence.bookmarks[stream]
    overlap = {
        record["id"]
        for record in sequence.truth[stream]
        if record["updated_at"] >= bookmark - LOOKBACK
    }
    read = {record["id"] for record in sequence.daily[stream]}
    assert sequence.changed[stream], stream
    assert read == sequence.changed[stream] | overlap, stream
    by_id = {record["id"]: record for record in sequence.daily_truth[stream]}
    for record in sequence.daily[stream]:
        assert source_fields(record) == by_id[record["id"]]


@pytest.mark.parametrize("stream", SNAPSHOTS)
def test_a_day_later_snapshot_streams_are_read_whole_as_a_new_version(
    sequence: Sequence, stream: str
) -> None:
    exactly(sequence.daily[stream], sequence.daily_truth[stream], stream)


@pytest.mark.parametrize("stream", STREAMS)
def test_a_full_refresh_swaps_in_a_new_version_of_every_stream(
    sequence: Sequence, stream: str
) -> None:
    old, new = sequence.first[stream], sequence.refreshed[stream]
    assert new["table_version"] > old["table_version"]
    assert all(entry["table_version"] == new["table_version"] for entry in new["files"])
    exactly(sequence.refreshed_records[stream], sequence.refreshed_truth[stream], stream)
