"""The soak run: the e2e fault modules several times in a row beside a CPU hog.

    make soak                          # 5 runs
    make soak SOAK_ARGS="--runs 2 --hogs 4"

A fault test that passes or fails by the scheduler's mood is a defect: every fault
must start where the test says (a request the emulator holds, a request the S3
fault proxy refuses, a write into a pipe), never at a moment a sleep guesses. This
run looks for the exceptions. It starts `--hogs` busy-loop processes at normal
priority (default: one per core), runs the modules with the suite's workers
(`make test`'s `-n` and `--dist loadscope`) `--runs` times, and stops at the first
failure, naming the run and the failed tests; its log is kept. Not part of
`make test`: it takes `--runs` times the modules' time, longer under the hog.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The end-to-end modules whose tests inject faults into running processes.
MODULES = (
    "tests/e2e/test_storage_faults.py",
    "tests/e2e/test_source_faults.py",
    "tests/e2e/test_crash_rerun.py",
    "tests/e2e/test_concurrency.py",
    "tests/e2e/test_extract_load.py",
    "tests/e2e/test_failed_stream.py",
)
FAILED_LINE = re.compile(r"^(FAILED|ERROR) (\S+)", re.MULTILINE)
HOG = "while True: pass"


def say(line: str) -> None:
    print(f"soak: {line}", flush=True)


def start_hogs(count: int) -> list[subprocess.Popen[bytes]]:
    """`count` processes that each keep one core busy (normal priority)."""
    return [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(count)]


def stop_hogs(hogs: list[subprocess.Popen[bytes]]) -> None:
    for hog in hogs:
        hog.kill()
    for hog in hogs:
        hog.wait()


def run_once(modules: list[str], workers: int, log: Path) -> tuple[int, float]:
    """One pytest run of the modules, its output in `log`; (exit code, seconds)."""
    command = [
        str(Path(sys.executable).with_name("pytest")),
        "--rootdir=.",
        "-c",
        "pyproject.toml",
        "-p",
        "no:cacheprovider",
        "-n",
        str(workers),
        "--dist",
        "loadscope",
        "-rfE",
        "--durations=10",
        *modules,
    ]
    started = time.monotonic()
    with log.open("w") as output:
        completed = subprocess.run(
            command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, check=False
        )
    return completed.returncode, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5, help="runs in a row (default 5)")
    parser.add_argument(
        "--hogs", type=int, default=os.cpu_count() or 1, help="busy processes (default: cores)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=(os.cpu_count() or 1) + 1,  # as the Makefile's PYTEST_WORKERS, which it passes
        help="pytest-xdist workers",
    )
    parser.add_argument("--logs", type=Path, default=None, help="where the run logs go")
    parser.add_argument("modules", nargs="*", default=list(MODULES), help="test modules")
    options = parser.parse_args(argv)
    logs = options.logs or Path(tempfile.mkdtemp(prefix="soak-"))
    logs.mkdir(parents=True, exist_ok=True)
    say(
        f"{options.runs} runs of {' '.join(Path(m).name for m in options.modules)} beside "
        f"{options.hogs} CPU hogs, "
        f"{options.workers} workers; logs in {logs}"
    )
    hogs = start_hogs(options.hogs)
    durations: list[float] = []
    try:
        for run in range(1, options.runs + 1):
            log = logs / f"run-{run}.log"
            returncode, seconds = run_once(options.modules, options.workers, log)
            durations.append(seconds)
            if returncode != 0:
                failed = [f"{kind} {test}" for kind, test in FAILED_LINE.findall(log.read_text())]
                say(
                    f"run {run} of {options.runs} FAILED after {seconds:.0f} s "
                    f"(pytest exit {returncode}); see {log}"
                )
                for line in failed or ["(no failed test named: see the log)"]:
                    print(f"  {line}", flush=True)
                return 1
            say(f"run {run} of {options.runs} passed in {seconds:.0f} s")
    finally:
        stop_hogs(hogs)
    total = sum(durations)
    say(
        f"{options.runs} of {options.runs} runs passed; {total:.0f} s in all, "
        f"{min(durations):.0f}-{max(durations):.0f} s a run"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
