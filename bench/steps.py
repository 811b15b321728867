"""One pipeline step as a measured subprocess: wall, CPU and peak memory of every process."""

from __future__ import annotations

import os
import resource
import subprocess
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import procfs
from bench.tree import ProcessSummary, ProcessTreeMonitor, summarize

STEP_TIMEOUT_S = 3600.0
LOG_TAIL_LINES = 30


class StepFailedError(RuntimeError):
    """A step's command exited non-zero; the message ends with its log's tail."""


@dataclass(frozen=True)
class ServerUsage:
    """A long-running server (emulator, SeaweedFS) during one step."""

    cpu_s: float  # used during the step
    peak_rss_mib: float  # during the step, or since its start where the reset was refused
    peak_is_per_step: bool


@dataclass
class StepMeasurement:
    step: str
    command: list[str]
    wall_s: float
    cpu_s: float  # the whole tree, from getrusage(RUSAGE_CHILDREN): exact
    sampled_cpu_s: float  # the sum over sampled processes: within one interval per process
    peak_rss_mib: float  # the largest single process
    processes: dict[str, ProcessSummary]
    process_list: list[dict[str, Any]]  # each process: pid, name, the start of its argv, numbers
    servers: dict[str, ServerUsage] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _server_cpu_s(pid: int) -> float:
    stat = procfs.read_stat(pid)
    return 0.0 if stat is None else stat.cpu_ticks / procfs.CLOCK_TICKS_PER_S


def run_step(
    step: str,
    argv: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
    servers: Mapping[str, int],
) -> StepMeasurement:
    """Run `argv` to completion while sampling its process tree and the servers' CPU."""
    servers_before = {name: _server_cpu_s(pid) for name, pid in servers.items()}
    per_step = {name: procfs.reset_peak_rss(pid) for name, pid in servers.items()}
    cpu_before = _children_cpu_s()
    started = time.monotonic()
    with log_path.open("ab") as log:
        log.write(f"\n=== {step}: {' '.join(argv)}\n".encode())
        log.flush()
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            argv, env=dict(env), cwd=cwd, stdout=log, stderr=subprocess.STDOUT
        )
        with ProcessTreeMonitor(process.pid) as monitor:
            try:
                returncode = process.wait(timeout=STEP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise StepFailedError(
                    f"{step} took over {STEP_TIMEOUT_S:.0f}s; see {log_path}"
                ) from None
    wall = time.monotonic() - started
    if returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
        raise StepFailedError(f"{step} exited {returncode}; see {log_path}:\n{tail}")
    samples = monitor.samples()
    return StepMeasurement(
        step=step,
        command=argv,
        wall_s=wall,
        cpu_s=_children_cpu_s() - cpu_before,
        sampled_cpu_s=sum(s.cpu_s for s in samples),
        peak_rss_mib=max((s.peak_rss_kib for s in samples), default=0) / 1024,
        processes=summarize(samples),
        process_list=[
            {
                "pid": s.pid,
                "name": s.name,
                "argv": [Path(arg).name for arg in s.argv[:3]],  # no paths, no settings
                "wall_s": round(s.last_seen_s - s.started_s, 2),
                "cpu_s": s.cpu_s,
                "peak_rss_mib": round(s.peak_rss_kib / 1024, 1),
            }
            for s in samples
        ],
        servers={
            name: ServerUsage(
                cpu_s=_server_cpu_s(pid) - servers_before[name],
                peak_rss_mib=(procfs.read_peak_rss_kib(pid) or 0) / 1024,
                peak_is_per_step=per_step[name],
            )
            for name, pid in servers.items()
        },
    )


def child_pid_named(executable: str) -> int | None:
    """The pid of this process's child running `executable` (e.g. SeaweedFS's `weed`)."""
    for stat in procfs.all_stats():
        if stat.ppid == os.getpid():
            argv = procfs.read_argv(stat.pid)
            if argv and Path(argv[0]).name == executable:
                return stat.pid
    return None
