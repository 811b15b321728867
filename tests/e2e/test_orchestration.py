"""The Meltano schedules end to end, exactly as the generated workflows run them.

`meltano schedule run daily-incremental` / `weekly-full-refresh` (real subprocesses)
against the IGDB emulator: a prod week on SeaweedFS with Meltano state in S3 (run
once, shared by the tests that check it: every run costs minutes), and a
one-stream full refresh in dev. After each run, the run summary is written next
to the mart and checked against the lake. The prod week runs with a recognisable
IGDB secret and ends with a run given a wrong one: then everything it printed or
wrote is searched for the secrets.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from igdb_emulator import Dataset, DayChange, Emulator, EmulatorConfig
from target_s3.lake import STATUS_TEMP
from target_s3.lifecycle import TEMP_DAYS

from tests.e2e.conftest import MAIN_JOB, Pipeline, prod_pipeline_for
from tests.e2e.test_main_job import truth
from tests.support.dim_games import assert_rows_equal
from tests.support.lake import listed_records, require_manifest
from tests.support.meltano_env import ROOT
from tests.support.seaweedfs import SeaweedFS

# The prod week's four runs are one fixture, timed as the setup of its first test.
pytestmark = pytest.mark.timeout(1800)
LOOKBACK_SECONDS = 3600  # tap-igdb's default lookback_seconds
SUMMARY_KEY = "marts/_runs/latest.json"
IGDB_SECRET = "canary-igdb-client-secret-9d2b7c"


def files_under(*roots: Path) -> list[Path]:
    return [path for root in roots if root.exists() for path in root.rglob("*") if path.is_file()]


def use_json_log(pipeline: Pipeline) -> Path:
    """Run with orchestrate/logging.yaml, its JSON log file moved into the workdir."""
    log = pipeline.workdir / "meltano-log.jsonl"
    config = yaml.safe_load((ROOT / "orchestrate" / "logging.yaml").read_text())
    config["handlers"]["json_file"]["filename"] = str(log)
    path = pipeline.workdir / "logging.yaml"
    path.write_text(yaml.safe_dump(config))
    pipeline.env["MELTANO_CLI_LOG_CONFIG"] = str(path)
    return log


def run_schedule(
    pipeline: Pipeline, name: str, log: Path
) -> tuple[subprocess.CompletedProcess[str], float, str]:
    """`meltano schedule run NAME`, then the run summary: the run, its seconds and
    everything both printed."""
    started = time.monotonic()
    run = pipeline.meltano("schedule", "run", name)
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
    printed = run.stdout + run.stderr + completed.stdout + completed.stderr
    return run, seconds, printed


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


@dataclass
class Day:
    """What one scheduled run left behind, taken right after it."""

    run: subprocess.CompletedProcess[str]
    seconds: float
    games: dict[str, Any]  # the games manifest
    tags: dict[str, dict[str, str]]  # each listed games file's tags
    dim_games: dict[int, dict[str, Any]]
    truth: dict[int, dict[str, Any]]  # the oracle's dim_games at that moment
    bookmark: int  # the saved games bookmark
    summary: dict[str, Any]
    source_games: int  # games at the source at that moment


@dataclass
class Week:
    """The prod week: two daily runs, the weekly full refresh, a run with a wrong secret."""

    pipeline: Pipeline
    day_one: Day
    day_two: Day
    change: DayChange  # the source's day-2 change (ids changed and added)
    day_two_ids: set[int]  # the games the day-2 run landed
    day_two_source: list[dict[str, Any]]  # the source's games at the day-2 run
    full_refresh: Day
    deleted: list[int]  # games deleted at the source before the full refresh
    old_files_tags: list[dict[str, str]]  # day 2's games files, after the full refresh
    wrong_secret: subprocess.CompletedProcess[str]
    outputs: list[str]  # everything every command printed


def take_day(pipeline: Pipeline, run: subprocess.CompletedProcess[str], seconds: float) -> Day:
    s3 = pipeline.s3_lake
    assert s3 is not None
    games = require_manifest(pipeline.lake, "games")
    return Day(
        run=run,
        seconds=seconds,
        games=games,
        tags={f["key"]: s3.tags(f["key"]) for f in games["files"]},
        dim_games=pipeline.dim_games(),
        truth=truth(pipeline.emulator),
        bookmark=pipeline.state()["singer_state"]["bookmarks"]["games"]["replication_key_value"],
        summary=summary(pipeline),
        source_games=len(pipeline.emulator.truth("games")),
    )


@pytest.fixture(scope="module")
def prod_week(tmp_path_factory: pytest.TempPathFactory, seaweedfs: SeaweedFS) -> Iterator[Week]:
    """One prod week on SeaweedFS with Meltano state in S3, shared by the tests below
    (each run costs minutes: the week runs once), with a recognisable IGDB secret."""
    workdir = tmp_path_factory.mktemp("prod-week")
    bucket = seaweedfs.create_bucket(f"test-{uuid.uuid4().hex[:16]}")
    with Emulator(Dataset.samples(), EmulatorConfig(client_secret=IGDB_SECRET)) as emulator:
        pipeline = prod_pipeline_for(workdir, emulator, seaweedfs, bucket)
        log = use_json_log(pipeline)
        outputs: list[str] = []

        def scheduled(name: str) -> Day:
            run, seconds, printed = run_schedule(pipeline, name, log)
            outputs.append(printed)
            return take_day(pipeline, run, seconds)

        day_one = scheduled("daily-incremental")  # no state: everything is extracted
        change = emulator.advance_day(changed=25, added=5, deleted=0, endpoint="games")
        day_two = scheduled("daily-incremental")
        day_two_source = list(emulator.truth("games"))
        first_keys = {f["key"] for f in day_one.games["files"]}
        (new_file,) = [f for f in day_two.games["files"] if f["key"] not in first_keys]
        landed = listed_records(pipeline.lake, "games")[-new_file["records"] :]
        # Monday: the weekly full refresh, after some games were deleted at the source.
        deleted = emulator.advance_day(changed=5, added=3, deleted=7, endpoint="games").deleted
        full_refresh = scheduled("weekly-full-refresh")
        s3 = pipeline.s3_lake
        assert s3 is not None
        wrong = pipeline.meltano(*MAIN_JOB, check=False, env={"TAP_IGDB_CLIENT_SECRET": "wrong"})
        outputs.append(wrong.stdout + wrong.stderr)
        yield Week(
            pipeline=pipeline,
            day_one=day_one,
            day_two=day_two,
            change=change,
            day_two_ids={r["id"] for r in landed},
            day_two_source=day_two_source,
            full_refresh=full_refresh,
            deleted=list(deleted),
            old_files_tags=[s3.tags(f["key"]) for f in day_two.games["files"]],
            wrong_secret=wrong,
            outputs=outputs,
        )


def test_prod_day_one_extracts_everything_and_saves_state_in_s3(prod_week: Week) -> None:
    day, pipeline = prod_week.day_one, prod_week.pipeline
    assert sum(f["records"] for f in day.games["files"]) == day.source_games
    assert all(tags == {"status": "final"} for tags in day.tags.values())
    assert_rows_equal(day.dim_games, day.truth)
    assert pipeline.s3_lake is not None
    assert pipeline.s3_lake.keys("meltano/state"), "Meltano state was not saved in the bucket"
    assert_summary_matches_the_new_files(day.summary, "games", day.games["files"])


def test_prod_day_two_reads_only_the_changes_and_the_lookback_overlap(prod_week: Week) -> None:
    one, two = prod_week.day_one, prod_week.day_two
    first_keys = {f["key"] for f in one.games["files"]}
    new_files = [f for f in two.games["files"] if f["key"] not in first_keys]
    assert len(two.games["files"]) == len(first_keys) + len(new_files) == 2
    assert all(tags == {"status": "final"} for tags in two.tags.values())
    overlap = {
        game["id"]
        for game in prod_week.day_two_source
        if game["updated_at"] >= one.bookmark - LOOKBACK_SECONDS
    }
    change = prod_week.change
    assert prod_week.day_two_ids == set(change.changed) | set(change.added) | overlap
    assert len(prod_week.day_two_ids) < len(two.truth) // 2
    assert_rows_equal(two.dim_games, two.truth)
    assert two.bookmark > one.bookmark
    assert_summary_matches_the_new_files(two.summary, "games", new_files)


def test_prod_weekly_full_refresh_swaps_in_a_new_version_without_the_deleted_games(
    prod_week: Week, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = prod_week.day_two.games, prod_week.full_refresh.games
    assert new["table_version"] > old["table_version"]
    assert not {f["key"] for f in new["files"]} & {f["key"] for f in old["files"]}
    assert all(f["table_version"] == new["table_version"] for f in new["files"])
    assert all(tags == {"status": "outdated"} for tags in prod_week.old_files_tags)
    dim_games = prod_week.full_refresh.dim_games
    assert not set(prod_week.deleted) & set(dim_games)
    assert_rows_equal(dim_games, prod_week.full_refresh.truth)
    assert_summary_matches_the_new_files(prod_week.full_refresh.summary, "games", new["files"])
    s3 = prod_week.pipeline.s3_lake
    assert s3 is not None
    assert len(s3.keys("marts/_runs/")) == 4  # three runs + latest.json
    with capsys.disabled():
        for label, day in {
            "day 1 (daily-incremental, no state)": prod_week.day_one,
            "day 2 (daily-incremental)": prod_week.day_two,
            "full refresh (weekly-full-refresh)": prod_week.full_refresh,
        }.items():
            games = stream_line(day.summary, "games")["records"]
            landed = day.summary["totals"]["records"]
            print(f"\n  {label}: {day.seconds:.1f} s, {landed} records ({games} games)", end="")
        print()


@pytest.mark.fault_matrix(
    fault="canary secrets (IGDB, S3, access token) and a wrong secret",
    injected="prod pipeline on SeaweedFS",
    outcome="secrets never printed or stored",
    check="every log, state, manifest, raw file, mart and workflow scanned",
)
def test_no_secret_reaches_any_log_state_file_object_or_workflow(
    prod_week: Week, seaweedfs: SeaweedFS
) -> None:
    pipeline = prod_week.pipeline
    tokens = pipeline.emulator.issued_tokens()
    canaries = [IGDB_SECRET, seaweedfs.secret_key, *tokens]
    assert tokens, "the emulator issued no token: the scan would miss it"
    assert prod_week.wrong_secret.returncode != 0

    printed = "".join(prod_week.outputs)
    s3 = pipeline.s3_lake
    assert s3 is not None
    objects = {key: s3.read(key) or b"" for key in s3.keys("")}
    assert any(key.startswith("meltano/state") for key in objects)
    assert any(key.startswith("marts/") for key in objects)
    local_files = files_under(
        pipeline.workdir, ROOT / ".meltano" / "run", ROOT / ".github" / "workflows"
    )

    for canary in canaries:
        assert canary not in printed, "a secret was printed"
        for key, body in objects.items():
            assert canary.encode() not in body, f"a secret is in s3://{s3.bucket}/{key}"
        for path in local_files:
            assert canary.encode() not in path.read_bytes(), f"a secret is in {path}"


def test_lifecycle_rules_are_applied_through_meltano_in_prod(prod_week: Week) -> None:
    pipeline = prod_week.pipeline
    pipeline.meltano("invoke", "target-s3:lifecycle")

    s3 = pipeline.s3_lake
    assert s3 is not None
    rules = s3.client.get_bucket_lifecycle_configuration(Bucket=s3.bucket)["Rules"]
    expiry = {
        rule["Filter"]["And"]["Tags"][0]["Value"]: rule["Expiration"]["Days"] for rule in rules
    }
    assert expiry == {STATUS_TEMP: TEMP_DAYS}


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
