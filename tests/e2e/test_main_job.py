"""The main job, `meltano run tap-igdb target-s3 dbt-duckdb:run`, end to end.

dim_games is compared row for row with the oracle computed in Python from the
emulator's own truth, in dev (local lake) and prod (SeaweedFS, state in S3).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from igdb_emulator import Emulator
from target_s3.lake import STATUS_TEMP
from target_s3.lifecycle import TEMP_DAYS

from tests.e2e.conftest import MAIN_JOB, Pipeline
from tests.support.dim_games import assert_rows_equal, expected_dim_games, read_dim_games
from tests.support.lake import DEFAULT_STREAMS, require_manifest
from tests.support.meltano_env import ROOT, isolated_environment


def truth(emulator: Emulator) -> dict[int, dict[str, object]]:
    return expected_dim_games({stream: emulator.truth(stream) for stream in DEFAULT_STREAMS})


def test_dev_main_job_builds_dim_games_equal_to_the_source_and_its_tests_pass(
    dev_pipeline: Pipeline,
) -> None:
    dev_pipeline.meltano(*MAIN_JOB)
    dev_pipeline.meltano("run", "dbt-duckdb:test")

    assert_rows_equal(dev_pipeline.dim_games(), truth(dev_pipeline.emulator))


def test_dev_days_then_full_refresh_keep_dim_games_equal_to_the_source(
    dev_pipeline: Pipeline,
) -> None:
    emulator = dev_pipeline.emulator
    dev_pipeline.meltano(*MAIN_JOB)

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


def test_prod_main_job_on_s3_with_state_in_s3(prod_pipeline: Pipeline) -> None:
    emulator = prod_pipeline.emulator
    assert prod_pipeline.s3_lake is not None
    prod_pipeline.meltano(*MAIN_JOB)
    assert_rows_equal(prod_pipeline.dim_games(), truth(emulator))
    state_keys = prod_pipeline.s3_lake.keys("meltano/state")
    assert state_keys, "Meltano state was not saved in the bucket"
    day_one = prod_pipeline.state()["singer_state"]["bookmarks"]["games"]["replication_key_value"]

    emulator.advance_day(changed=25, added=5, deleted=0, endpoint="games")
    prod_pipeline.meltano(*MAIN_JOB)
    prod_pipeline.meltano("run", "dbt-duckdb:test")

    assert_rows_equal(prod_pipeline.dim_games(), truth(emulator))
    day_two = prod_pipeline.state()["singer_state"]["bookmarks"]["games"]["replication_key_value"]
    assert day_two > day_one
    games = require_manifest(prod_pipeline.lake, "games")
    assert len(games["files"]) == 2
    for item in games["files"]:
        assert prod_pipeline.s3_lake.tags(item["key"]) == {"status": "final"}


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


def test_lifecycle_rules_are_applied_through_meltano_in_prod(prod_pipeline: Pipeline) -> None:
    assert prod_pipeline.s3_lake is not None
    prod_pipeline.meltano("invoke", "target-s3:lifecycle")

    s3 = prod_pipeline.s3_lake
    rules = s3.client.get_bucket_lifecycle_configuration(Bucket=s3.bucket)["Rules"]
    expiry = {
        rule["Filter"]["And"]["Tags"][0]["Value"]: rule["Expiration"]["Days"] for rule in rules
    }
    assert expiry == {STATUS_TEMP: TEMP_DAYS}
