"""The Meltano schedules end to end, exactly as the generated workflows run them.

`meltano schedule run daily-incremental` / `weekly-full-refresh` (real subprocesses)
against the IGDB emulator: prod on SeaweedFS with Meltano state in S3, and a
one-stream full refresh in dev. After each run, the run summary is written next
to the mart and checked against the lake.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Pipeline
from tests.e2e.test_main_job import truth
from tests.support.dim_games import assert_rows_equal
from tests.support.lake import listed_records, require_manifest
from tests.support.meltano_env import ROOT

LOOKBACK_SECONDS = 3600  # tap-igdb's default lookback_seconds
SUMMARY_KEY = "marts/_runs/latest.json"


def use_json_log(pipeline: Pipeline) -> Path:
    """Run with orchestrate/logging.yaml, its JSON log file moved into the workdir."""
    log = pipeline.workdir / "meltano-log.jsonl"
    config = yaml.safe_load((ROOT / "orchestrate" / "logging.yaml").read_text())
    config["handlers"]["json_file"]["filename"] = str(log)
    path = pipeline.workdir / "logging.yaml"
    path.write_text(yaml.safe_dump(config))
    pipeline.env["MELTANO_CLI_LOG_CONFIG"] = str(path)
    return log


def run_schedule(pipeline: Pipeline, name: str, log: Path) -> float:
    """`meltano schedule run NAME`, then the run summary; return the run's seconds."""
    started = time.monotonic()
    pipeline.meltano("schedule", "run", name)
    seconds = time.monotonic() - started
    assert '"metric_info"' in log.read_text(), "no SDK metrics in Meltano's JSON log"
    completed = subprocess.run(
        [sys.executable, "-m", "orchestrate.run_summary"],  # finds `log` in the log config
        cwd=ROOT,
        env=pipeline.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr[-3000:]
    assert "run summary: run " in completed.stdout
    return seconds


def summary(pipeline: Pipeline) -> dict[str, Any]:
    body = pipeline.lake.read(SUMMARY_KEY)
    if body is None:  # dev: the summary sits in the local mart folder
        body = (pipeline.workdir / SUMMARY_KEY).read_bytes()
    return dict(json.loads(body))


def stream_line(document: dict[str, Any], stream: str) -> dict[str, Any]:
    return next(item for item in document["streams"] if item["stream"] == stream)


def assert_summary_matches_the_new_files(
    document: dict[str, Any], stream: str, new_files: list[dict[str, Any]], *, tested: bool = True
) -> None:
    line = stream_line(document, stream)
    assert document["status"] == "success"
    assert line["files"] == len(new_files)
    assert line["records"] == sum(f["records"] for f in new_files)
    assert line["bytes"] == sum(f["bytes"] for f in new_files)
    assert line["records_extracted"] == line["records"]
    assert line["seconds"] is not None
    assert document["totals"]["models_built"] > 0
    assert (document["totals"]["tests_passed"] > 0) is tested


def test_prod_daily_daily_then_weekly_full_refresh_with_state_in_s3(
    prod_pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline, emulator, s3 = prod_pipeline, prod_pipeline.emulator, prod_pipeline.s3_lake
    assert s3 is not None
    log = use_json_log(pipeline)
    timings: dict[str, tuple[float, str]] = {}

    # Day 1, no state: everything is extracted.
    seconds = run_schedule(pipeline, "daily-incremental", log)
    games = require_manifest(pipeline.lake, "games")
    assert sum(f["records"] for f in games["files"]) == len(emulator.truth("games"))
    assert all(s3.tags(f["key"]) == {"status": "final"} for f in games["files"])
    assert_rows_equal(pipeline.dim_games(), truth(emulator))
    assert s3.keys("meltano/state"), "Meltano state was not saved in the bucket"
    day_one = pipeline.state()["singer_state"]["bookmarks"]["games"]["replication_key_value"]
    assert_summary_matches_the_new_files(summary(pipeline), "games", games["files"])
    timings["day 1 (daily-incremental, no state)"] = (seconds, summary_records(pipeline))

    # Day 2: only the changed and new games (plus the lookback overlap) are extracted.
    change = emulator.advance_day(changed=25, added=5, deleted=0, endpoint="games")
    first_keys = {f["key"] for f in games["files"]}
    seconds = run_schedule(pipeline, "daily-incremental", log)
    games = require_manifest(pipeline.lake, "games")
    new_files = [f for f in games["files"] if f["key"] not in first_keys]
    assert len(games["files"]) == len(first_keys) + len(new_files) == 2
    day_two_ids = {
        r["id"] for r in listed_records(pipeline.lake, "games")[-new_files[0]["records"] :]
    }
    overlap = {
        g["id"] for g in emulator.truth("games") if g["updated_at"] >= day_one - LOOKBACK_SECONDS
    }
    assert day_two_ids == set(change.changed) | set(change.added) | overlap
    assert len(day_two_ids) < len(emulator.truth("games")) // 2
    assert_rows_equal(pipeline.dim_games(), truth(emulator))
    day_two = pipeline.state()["singer_state"]["bookmarks"]["games"]["replication_key_value"]
    assert day_two > day_one
    assert_summary_matches_the_new_files(summary(pipeline), "games", new_files)
    timings["day 2 (daily-incremental)"] = (seconds, summary_records(pipeline))

    # Monday: the weekly full refresh, after some games were deleted at the source.
    deleted = emulator.advance_day(changed=5, added=3, deleted=7, endpoint="games").deleted
    old = games
    seconds = run_schedule(pipeline, "weekly-full-refresh", log)
    games = require_manifest(pipeline.lake, "games")
    assert games["table_version"] > old["table_version"]
    assert not {f["key"] for f in games["files"]} & {f["key"] for f in old["files"]}
    assert all(f["table_version"] == games["table_version"] for f in games["files"])
    assert all(s3.tags(f["key"]) == {"status": "outdated"} for f in old["files"])
    dim_games = pipeline.dim_games()
    assert not set(deleted) & set(dim_games)
    assert_rows_equal(dim_games, truth(emulator))
    assert_summary_matches_the_new_files(summary(pipeline), "games", games["files"])
    assert len(s3.keys("marts/_runs/")) == 4  # three runs + latest.json
    timings["full refresh (weekly-full-refresh)"] = (seconds, summary_records(pipeline))

    with capsys.disabled():
        for label, (run_seconds, records) in timings.items():
            print(f"\n  {label}: {run_seconds:.1f} s, {records}", end="")
        print()


def summary_records(pipeline: Pipeline) -> str:
    document = summary(pipeline)
    games = stream_line(document, "games")["records"]
    return f"{document['totals']['records']} records landed ({games} games)"


def test_dev_full_refresh_of_one_stream_keeps_the_others(dev_pipeline: Pipeline) -> None:
    """`TAP_IGDB__SELECT_FILTER='["games"]' meltano run --full-refresh igdb-pipeline`.

    Day 1 goes through `make run`'s launcher, which must end with its run's summary.
    """
    pipeline, emulator = dev_pipeline, dev_pipeline.emulator
    use_json_log(pipeline)
    # Day 1 through `make run`'s launcher: it ends with the summary of its own run.
    launched = subprocess.run(
        [sys.executable, "-m", "orchestrate.run_main"],
        cwd=ROOT,
        env=pipeline.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert launched.returncode == 0, launched.stdout[-2000:] + launched.stderr[-2000:]
    document = summary(pipeline)
    assert f"run summary: run {document['run_id']} success" in launched.stdout
    games_files = require_manifest(pipeline.lake, "games")["files"]
    assert_summary_matches_the_new_files(document, "games", games_files, tested=False)
    before = {s: require_manifest(pipeline.lake, s) for s in ("games", "platforms", "companies")}
    bookmarks = pipeline.state()["singer_state"]["bookmarks"]
    deleted = emulator.advance_day(changed=0, added=0, deleted=9, endpoint="games").deleted

    pipeline.meltano(
        "run", "--full-refresh", "igdb-pipeline", env={"TAP_IGDB__SELECT_FILTER": '["games"]'}
    )

    games = require_manifest(pipeline.lake, "games")
    assert games["table_version"] > before["games"]["table_version"]
    assert sum(f["records"] for f in games["files"]) == len(emulator.truth("games"))
    assert require_manifest(pipeline.lake, "platforms") == before["platforms"]
    assert require_manifest(pipeline.lake, "companies") == before["companies"]
    after = pipeline.state()["singer_state"]["bookmarks"]
    assert after["companies"] == bookmarks["companies"]
    assert after["involved_companies"] == bookmarks["involved_companies"]
    dim_games = pipeline.dim_games()
    assert not set(deleted) & set(dim_games)
    assert_rows_equal(dim_games, truth(emulator))
