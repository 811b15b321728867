"""Run the main job, ``meltano run tap-igdb target-s3 dbt-duckdb:run``, in two task sets.

The extract-load set and then the dbt set, the second even when a stream failed in
the first, so the marts are rebuilt from what landed (orchestrate/run_job.py).

With ``TAP_IGDB_CLIENT_ID`` and ``TAP_IGDB_CLIENT_SECRET`` set, the tap talks to
the real IGDB. With neither set, the bundled IGDB emulator is started on
127.0.0.1 serving the real sample responses, and the tap is pointed at it, so
the whole pipeline runs on a fresh machine without any secret.

The run logs through ``orchestrate/logging.yaml`` (Meltano's JSON log as well as the
console) under a run id chosen here, and ends with the run summary of that run
(``orchestrate/run_summary.py``), whatever the run's outcome.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from orchestrate.run_job import run_task_sets

MAIN_JOB: tuple[str, ...] = ("tap-igdb", "target-s3", "dbt-duckdb:run")
# The main job as task sets (orchestrate/run_job.py): dbt runs even when a stream
# failed, so the marts are rebuilt from what landed (docs/decisions/0008).
MAIN_TASK_SETS: tuple[str, ...] = ("tap-igdb target-s3", "dbt-duckdb:run")
CREDENTIAL_VARIABLES = ("TAP_IGDB_CLIENT_ID", "TAP_IGDB_CLIENT_SECRET")
EMULATOR_START_TIMEOUT_SECONDS = 60.0
LOG_CONFIG = "orchestrate/logging.yaml"


class LaunchError(Exception):
    """A problem that stops the launch; its message is one line for the user."""


def uses_real_igdb(environ: Mapping[str, str]) -> bool:
    """Tell whether the credentials for the real IGDB are set (both or neither)."""
    present = [name for name in CREDENTIAL_VARIABLES if environ.get(name, "").strip()]
    if len(present) == 1:
        missing = next(name for name in CREDENTIAL_VARIABLES if name not in present)
        raise LaunchError(
            f"{missing} is not set but {present[0]} is: set both to use the real IGDB, "
            "or neither to use the bundled IGDB emulator."
        )
    return len(present) == len(CREDENTIAL_VARIABLES)


def emulator_environment(ready: Mapping[str, object]) -> dict[str, str]:
    """The tap settings, as Meltano environment variables, that point at the emulator."""
    return {
        "TAP_IGDB_API_URL": str(ready["api_url"]),
        "TAP_IGDB_AUTH_URL": str(ready["auth_url"]),
        "TAP_IGDB_CLIENT_ID": str(ready["client_id"]),
        "TAP_IGDB_CLIENT_SECRET": str(ready["client_secret"]),
    }


@contextmanager
def running_emulator(python: str = sys.executable) -> Iterator[dict[str, object]]:
    """Start ``python -m igdb_emulator`` on the sample data; yield its ready file."""
    with tempfile.TemporaryDirectory(prefix="igdb-emulator-") as workdir:
        ready_file = Path(workdir) / "ready.json"
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [
                python,
                "-m",
                "igdb_emulator",
                "--dataset",
                "samples",
                "--port",
                "0",
                "--ready-file",
                str(ready_file),
            ],
        )
        try:
            yield _wait_for_ready_file(process, ready_file)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_ready_file(process: subprocess.Popen[bytes], ready_file: Path) -> dict[str, object]:
    deadline = time.monotonic() + EMULATOR_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if ready_file.exists():
            ready: dict[str, object] = json.loads(ready_file.read_text())
            return ready
        if process.poll() is not None:
            raise LaunchError(f"the IGDB emulator exited with code {process.returncode}")
        time.sleep(0.05)  # polling the ready file; the deadline bounds the wait
    raise LaunchError(
        f"the IGDB emulator did not get ready within {EMULATOR_START_TIMEOUT_SECONDS:.0f} s"
    )


def run_logged(extra_args: Sequence[str], environ: Mapping[str, str]) -> int:
    """Run the main job, task set by task set, under a fresh run id, then summarise
    that run; return the exit code (the first failure's)."""
    run_id = str(uuid.uuid4())
    env = {"MELTANO_CLI_LOG_CONFIG": LOG_CONFIG, **environ, "MELTANO_RUN_ID": run_id}
    code = run_task_sets(MAIN_TASK_SETS, extra_args, env)
    summary = subprocess.call(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-m", "orchestrate.run_summary", "--run-id", run_id], env=env
    )
    return code or summary


def main(argv: Sequence[str] | None = None) -> int:
    """Run the main job; return its exit code."""
    extra_args = list(sys.argv[1:] if argv is None else argv)
    environ = dict(os.environ)
    try:
        if uses_real_igdb(environ):
            print("IGDB credentials found: running against the real IGDB API.", flush=True)
            return run_logged(extra_args, environ)
        with running_emulator() as ready:
            print(
                "No IGDB credentials set (TAP_IGDB_CLIENT_ID, TAP_IGDB_CLIENT_SECRET): "
                f"running against the bundled IGDB emulator at {ready['api_url']} "
                "serving the real sample data.",
                flush=True,
            )
            environ.update(emulator_environment(ready))
            return run_logged(extra_args, environ)
    except LaunchError as error:
        print(f"make run: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
