"""The main job, `meltano run tap-igdb target-s3 dbt-duckdb:run`, end to end.

dim_games is compared row for row with the oracle computed in Python from the
emulator's own truth, in dev (local lake); prod (SeaweedFS, state in S3) runs
the same job through its schedules in test_orchestration.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from igdb_emulator import Emulator

from tests.e2e.conftest import MAIN_JOB, Pipeline
from tests.support.dim_games import assert_rows_equal, expected_dim_games, read_dim_games
from tests.support.lake import DEFAULT_STREAMS
from tests.support.meltano_env import ROOT, isolated_environment


def truth(emulator: Emulator) -> dict[int, dict[str, object]]:
    return expected_dim_games({stream: emulator.truth(stream) for stream in DEFAULT_STREAMS})


def test_dev_days_then_full_refresh_keep_dim_games_equal_to_the_source(
    dev_pipeline: Pipeline,
) -> None:
    emulator = dev_pipeline.emulator
    dev_pipeline.meltano(*MAIN_JOB)
    dev_pipeline.meltano("run", "dbt-duckdb:test")
    assert_rows_equal(dev_pipeline.dim_games(), truth(emulator))

    emulator.advance_day(changed=30, added=10, deleted=0, endpoint="games")
    dev_pipeline.meltano(*MAIN_JOB)
    assert_rows_equal(dev_pipeline.dim_games(), truth(emulator))

    emulator.advance_day(changed=5, added=3, deleted=0, endpoint="games")
    dev_pipeline.meltano(*MAIN_JOB)
    assert_rows_equal(dev_pipeline.dim_games(), truth(emulator))

    deleted = emulator.advance_day(changed=0, added=0, deleted=12, endpoint="games").deleted
    dev_pipeline.meltano("run", "--full-refresh", *MAIN_JOB[1:])
    games = dev_pipeline.dim_games()
    assert not set(deleted) & set(games)
    assert_rows_equal(games, truth(emulator))


def test_make_run_launcher_runs_the_main_job_on_the_bundled_emulator(tmp_path: Path) -> None:
    """`make run` with no IGDB credentials: the launcher starts the emulator itself."""
    env = isolated_environment(tmp_path)

    completed = subprocess.run(
        [sys.executable, "-m", "orchestrate.run_main"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "running against the bundled IGDB emulator" in completed.stdout
    assert len(read_dim_games(tmp_path / "marts/dim_games/dim_games.parquet")) == 600
