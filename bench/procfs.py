"""Reading one process's numbers from Linux /proc: CPU ticks, start time, peak RSS, name."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")

# Executables of the pipeline, by the name we report them under.
PIPELINE_NAMES = {
    "meltano": "meltano",
    "tap-igdb": "tap-igdb",
    "target-s3": "target-s3",
    "dbt": "dbt",
    "dbt_invoker": "dbt",
    "dbt_extension": "dbt",
}


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/<pid>/stat the harness uses."""

    pid: int
    comm: str
    ppid: int
    cpu_ticks: int  # utime + stime of this process only
    start_ticks: int  # since boot


def parse_stat(text: str) -> ProcStat:
    """Parse /proc/<pid>/stat; `comm` may hold spaces and parentheses, so split at the last ')'."""
    head, _, tail = text.rpartition(")")
    pid, _, comm = head.partition(" (")
    fields = tail.split()
    # fields[0] is field 3 (state) of proc(5): ppid is field 4, utime 14, stime 15, starttime 22.
    return ProcStat(
        pid=int(pid),
        comm=comm,
        ppid=int(fields[1]),
        cpu_ticks=int(fields[11]) + int(fields[12]),
        start_ticks=int(fields[19]),
    )


def parse_peak_rss_kib(status: str) -> int | None:
    """VmHWM (peak resident set) from /proc/<pid>/status, in KiB; None for kernel threads."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def process_name(argv: list[str], comm: str, parent: str | None = None) -> str:
    """The pipeline part a process is (`python .../bin/tap-igdb` is tap-igdb).

    A helper a part starts (dbt's multiprocessing resource tracker) counts toward
    that part; anything else keeps its own command name.
    """
    for arg in argv[:2]:
        name = PIPELINE_NAMES.get(Path(arg).name)
        if name is not None:
            return name
    if parent in PIPELINE_NAMES.values():
        return str(parent)
    return comm


def uptime_s(proc: Path = PROC) -> float:
    """Seconds since boot, the clock /proc start times use."""
    return float((proc / "uptime").read_text().split()[0])


def read_stat(pid: int, proc: Path = PROC) -> ProcStat | None:
    try:
        return parse_stat((proc / str(pid) / "stat").read_text())
    except (FileNotFoundError, ProcessLookupError):
        return None


def read_peak_rss_kib(pid: int, proc: Path = PROC) -> int | None:
    try:
        return parse_peak_rss_kib((proc / str(pid) / "status").read_text())
    except (FileNotFoundError, ProcessLookupError):
        return None


def read_argv(pid: int, proc: Path = PROC) -> list[str]:
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def all_stats(proc: Path = PROC) -> list[ProcStat]:
    """Every process now alive (those that exit mid-scan are skipped)."""
    stats = []
    for entry in proc.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name), proc)
            if stat is not None:
                stats.append(stat)
    return stats


def reset_peak_rss(pid: int, proc: Path = PROC) -> bool:
    """Restart VmHWM from the current RSS (clear_refs "5", Linux 4.0+), so a peak is per step.

    False when the process is gone or the kernel refuses (another user's process).
    """
    try:
        (proc / str(pid) / "clear_refs").write_text("5")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return True
