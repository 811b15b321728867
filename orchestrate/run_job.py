"""Run a Meltano job task set by task set: the marts are rebuilt from what landed.

`meltano run` aborts at the first failed block, so when one stream fails after its
retries (the tap then exits non-zero, having landed every other stream), `meltano
run tap-igdb target-s3 dbt-duckdb:run` would leave the marts as they were. A job's
tasks are therefore run one task set at a time, and the task sets after a failed
one still run: the dbt models are rebuilt from every file that did land, and the
run still ends with the first failure's exit code (docs/decisions/0008).

    python -m orchestrate.run_job --schedule daily-incremental   # a schedule's job
    python -m orchestrate.run_job --job igdb-pipeline --full-refresh

Options other than --job and --schedule go to every `meltano run`.

The schedule's `env` is applied as `meltano schedule run` applies it (over the
process's). Every task set runs under one MELTANO_RUN_ID, so the run summary sees one
run (orchestrate/run_summary.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class JobError(Exception):
    """The job or schedule cannot be found or read; one line for the user."""


def meltano() -> str:
    return str(Path(sys.executable).with_name("meltano"))


def run_task_sets(
    task_sets: Sequence[str], extra_args: Sequence[str], environ: Mapping[str, str]
) -> int:
    """Run each task set with `meltano run`, every one of them whatever the earlier
    ones did; the first non-zero exit code, else 0."""
    codes = []
    for task_set in task_sets:
        command = [meltano(), "run", *extra_args, *task_set.split()]
        print(f"run_job: meltano run {' '.join([*extra_args, task_set])}", flush=True)
        code = subprocess.call(command, env=dict(environ), cwd=ROOT)  # noqa: S603 - fixed argv
        if code:
            print(f"run_job: `{task_set}` failed (exit {code}); running the rest", flush=True)
        codes.append(code)
    return next((code for code in codes if code), 0)


def _meltano_json(*args: str, environ: Mapping[str, str]) -> dict[str, object]:
    completed = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [meltano(), *args, "--format=json"],
        cwd=ROOT,
        env=dict(environ),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise JobError(f"`meltano {' '.join(args)}` failed: {last}")
    document: dict[str, object] = json.loads(completed.stdout)
    return document


def job_task_sets(job: str, environ: Mapping[str, str]) -> list[str]:
    """The task sets of the Meltano job called `job` (`meltano job list`)."""
    listing = _meltano_json("job", "list", environ=environ)
    for entry in _entries(listing.get("jobs")):
        if entry.get("job_name") == job:
            return _task_sets(entry.get("tasks"), f"job {job!r}")
    raise JobError(f"no Meltano job called {job!r}")


def schedule_task_sets(
    schedule: str, environ: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    """The task sets of a schedule's job, and the env the schedule runs it with
    (`meltano schedule list`, one call)."""
    listing = _meltano_json("schedule", "list", environ=environ)
    schedules = listing.get("schedules")
    for entry in _entries(schedules.get("job") if isinstance(schedules, dict) else None):
        if entry.get("name") == schedule:
            job = entry.get("job")
            env = entry.get("env") or {}
            tasks = job.get("tasks") if isinstance(job, dict) else None
            if not isinstance(env, dict):
                raise JobError(f"schedule {schedule!r}: its env is not a mapping")
            task_sets = _task_sets(tasks, f"schedule {schedule!r}")
            return task_sets, {str(key): str(value) for key, value in env.items()}
    raise JobError(f"no Meltano job schedule called {schedule!r}")


def _entries(value: object) -> list[dict[str, object]]:
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _task_sets(tasks: object, owner: str) -> list[str]:
    if not isinstance(tasks, list) or not tasks:
        raise JobError(f"{owner} has no tasks")
    return [str(task) for task in tasks]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--job", help="the Meltano job to run")
    target.add_argument("--schedule", help="run the job of this Meltano schedule, with its env")
    args, meltano_args = parser.parse_known_args(argv)
    environ = dict(os.environ)
    try:
        if args.schedule:
            task_sets, schedule_env = schedule_task_sets(args.schedule, environ)
            environ |= schedule_env
        else:
            task_sets = job_task_sets(args.job, environ)
        environ.setdefault("MELTANO_RUN_ID", str(uuid.uuid4()))
        return run_task_sets(task_sets, meltano_args, environ)
    except JobError as error:
        print(f"run_job: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
