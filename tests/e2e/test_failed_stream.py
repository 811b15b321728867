"""One stream failing for good does not stop the others, nor the marts (decision 0008).

The main job as the schedules and `make run` run it (orchestrate/run_job.py: its task
sets one after another) against an emulator whose involved_companies endpoint answers 502
to every request: every other stream lands and saves its state, the failed stream is
left as it was, dbt still rebuilds the marts from what landed, and the run fails with
one line naming the stream. Once IGDB recovers, the next run gives dim_games equal
to the source. The same on a full refresh, where every stream opens a table version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from igdb_emulator import EmulatorConfig, Fault
from igdb_emulator.pytest_plugin import EmulatorFactory

from orchestrate.run_job import run_task_sets
from orchestrate.run_main import MAIN_TASK_SETS
from tests.e2e.conftest import Pipeline, pipeline_environment
from tests.support.dim_games import assert_rows_equal, expected_dim_games
from tests.support.lake import DEFAULT_STREAMS
from tests.support.lake import manifest as lake_manifest

FAILING = "involved_companies"
# Every request for its records answers 502 until the faults are cleared.
OUTAGE = Fault.server_error(count=1_000_000, status=502, endpoint=FAILING)
# Short retries keep the failing stream's give-up quick. One block per request, so
# the emulator's endpoint fault hits exactly the failing stream's requests.
QUICK_RETRIES = {
    "TAP_IGDB_MAX_RETRIES": "1",
    "TAP_IGDB_BACKOFF_BASE_MS": "10",
    "TAP_IGDB_BACKOFF_MAX_MS": "50",
    "TAP_IGDB_USE_MULTIQUERY": "false",
}


@dataclass
class Run:
    returncode: int
    output: str


def run_main_job(pipeline: Pipeline, capfd: pytest.CaptureFixture[str], *args: str) -> Run:
    """The main job as `make run` and the schedules run it: the extract-load task set,
    then dbt, whatever the first did (orchestrate/run_job.py). The schedules' job also
    runs the dbt tests; they are left out here to keep the test short."""
    capfd.readouterr()
    code = run_task_sets(MAIN_TASK_SETS, args, {**pipeline.env, **QUICK_RETRIES})
    captured = capfd.readouterr()
    return Run(code, captured.out + captured.err)


def bookmarks(pipeline: Pipeline) -> dict[str, Any]:
    return dict(pipeline.state()["singer_state"]["bookmarks"])


def truth(pipeline: Pipeline, **stale: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """dim_games from the emulator's truth, with some streams as they were (`stale`)."""
    streams = {stream: pipeline.emulator.truth(stream) for stream in DEFAULT_STREAMS}
    return expected_dim_games(streams | stale)


def table_versions(pipeline: Pipeline) -> dict[str, int]:
    return {
        stream: int(manifest["table_version"])
        for stream in DEFAULT_STREAMS
        if (manifest := lake_manifest(pipeline.lake, stream)) is not None
    }


@pytest.fixture
def quick_pipeline(tmp_path: Path, igdb_emulator_factory: EmulatorFactory) -> Pipeline:
    """The dev pipeline against an emulator without IGDB's rate limit: one block per
    request would otherwise make each run wait on 4 requests a second."""
    emulator = igdb_emulator_factory(config=EmulatorConfig.unthrottled())
    env = pipeline_environment(tmp_path, emulator) | {"TAP_IGDB_REQUESTS_PER_SECOND": "100"}
    return Pipeline(tmp_path, emulator, env)


@pytest.mark.fault_matrix(
    fault="involved_companies answers 502 for good, on a daily run and on a full refresh",
    injected="emulator (IGDB), every request of the endpoint, until cleared",
    outcome="fails loudly naming the stream; every other stream lands and saves its "
    "state; dbt still rebuilds the marts from what landed",
    check="bookmarks and table versions per stream; dim_games equal to the source with "
    "the failed stream as it was; after recovery, equal to the source",
)
def test_a_failing_stream_leaves_the_others_landed_and_the_marts_rebuilt(
    quick_pipeline: Pipeline, capfd: pytest.CaptureFixture[str]
) -> None:
    pipeline = quick_pipeline
    emulator = pipeline.emulator
    first = run_main_job(pipeline, capfd)
    assert first.returncode == 0, first.output[-3000:]
    day_one = bookmarks(pipeline)
    companies_landed = emulator.truth(FAILING)

    # Day 2: games and involved_companies change; IGDB fails involved_companies.
    emulator.advance_day(changed=20, added=5, deleted=0, endpoint="games")
    emulator.advance_day(changed=20, added=5, deleted=0, endpoint=FAILING)
    emulator.faults.add(OUTAGE)
    failed = run_main_job(pipeline, capfd)

    output = failed.output
    assert failed.returncode != 0
    assert f"streams failed: {FAILING} (" in output
    day_two = bookmarks(pipeline)
    assert day_two[FAILING] == day_one[FAILING]  # not moved: its records never landed
    assert day_two["games"]["replication_key_value"] > day_one["games"]["replication_key_value"]
    # dbt ran after the failed extract-load: the marts hold day 2's games, with the
    # developer and publisher names of the involved_companies that had landed.
    assert_rows_equal(pipeline.dim_games(), truth(pipeline, **{FAILING: companies_landed}))

    # Day 3, still failing, is the weekly full refresh, which opens a version for
    # every stream: the failed one keeps its old version and files, every other
    # stream swaps to its new one.
    before_refresh = table_versions(pipeline)
    emulator.advance_day(changed=10, added=2, deleted=0, endpoint="games")
    refresh = run_main_job(pipeline, capfd, "--full-refresh")

    assert refresh.returncode != 0
    assert f"streams failed: {FAILING} (" in refresh.output
    after_refresh = table_versions(pipeline)
    assert after_refresh[FAILING] == before_refresh[FAILING]
    swapped = [s for s in DEFAULT_STREAMS if s != FAILING]
    assert all(after_refresh[s] > before_refresh[s] for s in swapped), after_refresh
    assert_rows_equal(pipeline.dim_games(), truth(pipeline, **{FAILING: companies_landed}))

    # IGDB recovers: the next daily run reads the failed stream again (a full
    # refresh left it no bookmark, so from scratch) and the marts equal the source.
    emulator.faults.clear()
    recovered = run_main_job(pipeline, capfd)
    assert recovered.returncode == 0, recovered.output[-3000:]
    assert_rows_equal(pipeline.dim_games(), truth(pipeline))
