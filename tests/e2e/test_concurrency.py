"""Two pipeline runs at once on one lake: one writes, the other refuses to start.

Meltano refuses a second run of a pipeline only within one system database.
Two GitHub runners have one each, so target-s3 holds a lake lock
(`raw/_lock.json`, a lease renewed while it writes): the second writer fails
at once with one line naming the lock, its holder and its expiry.

The runs overlap for certain: the emulator holds every IGDB request (its `hold`
fault) until the refused run has ended, so the first run, which holds the lake
lock or its Meltano job, cannot finish before the second one tries; then the
requests are released and the first run completes.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from igdb_emulator import Emulator, Fault
from igdb_emulator.pytest_plugin import EmulatorFactory

from tests.e2e.conftest import (
    MAIN_JOB,
    RUN_TIMEOUT_S,
    Pipeline,
    pipeline_environment,
    prod_pipeline_for,
)
from tests.e2e.test_storage_faults import LOCK_KEY, assert_lake_consistent, target_error, truth
from tests.support.chaos import WatchedRun, descendants, wait_while_running
from tests.support.dim_games import assert_rows_equal
from tests.support.lake import DEFAULT_STREAMS, Lake, listed_records, source_fields
from tests.support.seaweedfs import SeaweedFS

# A line Meltano relays from a plugin's output.
PLUGIN_LINE = re.compile(r"\[\w+\s*\]\s+(tap-igdb|target-s3)\s")


def assert_every_record_listed_once(lake: Lake, emulator: Emulator) -> None:
    for stream in DEFAULT_STREAMS:
        records = sorted((source_fields(r) for r in listed_records(lake, stream)), key=str)
        assert records == sorted(emulator.truth(stream), key=str), stream


def lease_holder_pid(lake: Lake, runs: list[WatchedRun]) -> int:
    """Wait until some run's target holds the lake; the pid its lease names."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while (body := lake.read(LOCK_KEY)) is None:
        assert all(run.process.poll() is None for run in runs), "a run ended before any lock"
        assert time.monotonic() < deadline, "no target took the lake lock"
        time.sleep(0.05)  # polling for the lease; the deadline bounds the wait
    return int(json.loads(body)["pid"])


@pytest.mark.slow
@pytest.mark.fault_matrix(
    fault="two prod runs on one bucket, separate Meltano system databases, started together",
    injected="two `meltano run` processes (as from two runners)",
    outcome="one runs; the other fails at once with one line naming the lake lock; rerun",
    check="the lake holds every source record once; dim_games equals the source after the rerun",
)
def test_two_machines_on_one_lake_one_writes_and_the_other_is_refused_then_reruns(
    tmp_path: Path, igdb_emulator_factory: EmulatorFactory, seaweedfs: SeaweedFS, s3_bucket: str
) -> None:
    emulator = igdb_emulator_factory()
    emulator.faults.add(Fault.hold(count=None))  # neither run can finish
    machines = [
        prod_pipeline_for(tmp_path / name, emulator, seaweedfs, s3_bucket)
        for name in ("runner-a", "runner-b")
    ]
    lake = machines[0].lake

    runs = [WatchedRun(machine.start_meltano(*MAIN_JOB)) for machine in machines]
    holder = lease_holder_pid(lake, runs)
    winner = next(
        i for i, run in enumerate(runs) if holder in {p.pid for p in descendants(run.process.pid)}
    )
    loser = 1 - winner
    assert runs[loser].wait(RUN_TIMEOUT_S) != 0
    emulator.faults.clear()  # the winner's requests go on
    assert runs[winner].wait(RUN_TIMEOUT_S) == 0, runs[winner].output()[-3000:]

    line = target_error(runs[loser].output(), f"lake lock s3://{s3_bucket}/{LOCK_KEY}")
    assert f"(pid {holder})" in line
    assert_every_record_listed_once(lake, emulator)  # the winner's, whole; nothing of the loser
    assert LOCK_KEY not in lake.keys("raw/")
    assert_rows_equal(machines[winner].dim_games(), truth(emulator))

    machines[loser].meltano(*MAIN_JOB)  # the refused run, once the other has finished

    assert_lake_consistent(lake)
    assert_rows_equal(machines[loser].dim_games(), truth(emulator))


@pytest.mark.slow
@pytest.mark.fault_matrix(
    fault="a second run in the same Meltano project while one runs",
    injected="two `meltano run` processes, one system database",
    outcome="Meltano refuses the second (`Another ... pipeline is already running`)",
    check="the first run's lake holds every source record once",
)
def test_a_second_run_in_one_meltano_project_is_refused_by_meltano(
    tmp_path: Path, igdb_emulator_factory: EmulatorFactory
) -> None:
    emulator = igdb_emulator_factory()
    emulator.faults.add(Fault.hold(count=None))  # the first run cannot finish
    pipeline = Pipeline(tmp_path, emulator, pipeline_environment(tmp_path, emulator))
    first = WatchedRun(pipeline.start_meltano(*MAIN_JOB))
    # Its tap waits on IGDB: Meltano registered its job before starting it.
    wait_while_running(
        first,
        lambda seconds: emulator.faults.wait_held(timeout=seconds),
        timeout=RUN_TIMEOUT_S,
        what="the first run's tap asked IGDB",
    )

    second = pipeline.meltano(*MAIN_JOB, check=False)
    emulator.faults.clear()
    assert first.wait(RUN_TIMEOUT_S) == 0, first.output()[-3000:]

    output = second.stdout + second.stderr
    assert second.returncode != 0
    assert "Another 'dev:tap-igdb-to-target-s3' pipeline is already running" in output
    assert not PLUGIN_LINE.search(output)  # refused before any plugin started
    assert_every_record_listed_once(pipeline.lake, emulator)
