"""The schedules' runner: a job's task sets one after another, none skipped."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from orchestrate import run_job

SCHEDULES = {
    "schedules": {
        "job": [
            {
                "name": "weekly",
                "env": {"MELTANO_RUN_FULL_REFRESH": "true"},
                "job": {"name": "pipeline", "tasks": ["tap target", "dbt:run dbt:test"]},
            }
        ],
        "elt": [],
    }
}
JOBS = {"jobs": [{"job_name": "pipeline", "tasks": ["tap target", "dbt:run dbt:test"]}]}


@pytest.fixture
def fake_meltano(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `meltano` that records each call (argv and two variables) and fails the EL
    task set, as a run with one failed stream does; listings are canned."""
    calls = tmp_path / "calls.jsonl"
    script = tmp_path / "meltano"
    script.write_text(
        f"""#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
if args[:2] == ["schedule", "list"]:
    print({json.dumps(json.dumps(SCHEDULES))}); sys.exit(0)
if args[:2] == ["job", "list"]:
    print({json.dumps(json.dumps(JOBS))}); sys.exit(0)
with open({str(calls)!r}, "a") as out:
    seen = {{k: os.environ.get(k) for k in ("MELTANO_RUN_ID", "MELTANO_RUN_FULL_REFRESH")}}
    out.write(json.dumps({{"args": args, **seen}}) + "\\n")
sys.exit(3 if "target" in args else 0)
"""
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(run_job, "meltano", lambda: str(script))
    return calls


def calls(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_failed_task_set_does_not_skip_the_next_and_its_code_is_the_run_s(
    fake_meltano: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MELTANO_RUN_ID", raising=False)
    code = run_job.main(["--job", "pipeline", "--full-refresh"])

    seen = calls(fake_meltano)
    assert code == 3
    assert [call["args"] for call in seen] == [
        ["run", "--full-refresh", "tap", "target"],
        ["run", "--full-refresh", "dbt:run", "dbt:test"],
    ]
    # One run for the summary: every task set under one run id.
    assert seen[0]["MELTANO_RUN_ID"]
    assert seen[0]["MELTANO_RUN_ID"] == seen[1]["MELTANO_RUN_ID"]


def test_a_schedule_runs_its_job_with_its_env(
    fake_meltano: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MELTANO_RUN_FULL_REFRESH", "false")  # the schedule's env wins
    assert run_job.main(["--schedule", "weekly"]) == 3
    seen = calls(fake_meltano)
    assert [call["args"][1:] for call in seen] == [["tap", "target"], ["dbt:run", "dbt:test"]]
    assert {call["MELTANO_RUN_FULL_REFRESH"] for call in seen} == {"true"}


def test_an_unknown_schedule_is_one_line(
    fake_meltano: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_job.main(["--schedule", "nightly"]) == 2
    assert capsys.readouterr().err == "run_job: no Meltano job schedule called 'nightly'\n"
    assert not fake_meltano.exists()
