"""Wall, CPU and peak memory of every process in a tree, by polling /proc until it exits.

`meltano run` starts the tap, the target and dbt as children; `getrusage` would
only give their total, so each descendant is sampled on its own. A sample is
at most one interval old when its process exits: short-lived helpers can be
missed, and the total CPU from `getrusage(RUSAGE_CHILDREN)` stays the reference.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType

from bench import procfs


@dataclass
class ProcessSample:
    """The latest numbers seen for one process (times are seconds since boot)."""

    pid: int
    name: str
    argv: list[str]
    started_s: float
    last_seen_s: float
    cpu_s: float
    peak_rss_kib: int


@dataclass(frozen=True)
class ProcessSummary:
    """All processes of one name: how many, their span, summed CPU, largest peak RSS."""

    processes: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float


def summarize(samples: Iterable[ProcessSample]) -> dict[str, ProcessSummary]:
    """Per process name, in order of first start."""
    groups: dict[str, list[ProcessSample]] = {}
    for sample in sorted(samples, key=lambda s: s.started_s):
        groups.setdefault(sample.name, []).append(sample)
    return {
        name: ProcessSummary(
            processes=len(group),
            wall_s=max(s.last_seen_s for s in group) - min(s.started_s for s in group),
            cpu_s=sum(s.cpu_s for s in group),
            peak_rss_mib=max(s.peak_rss_kib for s in group) / 1024,
        )
        for name, group in groups.items()
    }


@dataclass
class ProcessTreeMonitor:
    """A background thread sampling `root_pid` and its descendants every `interval_s`."""

    root_pid: int
    interval_s: float = 0.2
    _samples: dict[tuple[int, int], ProcessSample] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> ProcessTreeMonitor:
        self.poll()  # the root is seen even if the command is very short
        self._thread = threading.Thread(target=self._run, name="process-tree-monitor", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.poll()

    def poll(self) -> None:
        """Sample every live process of the tree once."""
        now = procfs.uptime_s()
        stats = procfs.all_stats()
        children: dict[int, list[procfs.ProcStat]] = {}
        for stat in stats:
            children.setdefault(stat.ppid, []).append(stat)
        tree = [stat for stat in stats if stat.pid == self.root_pid]
        names: dict[int, str] = {}
        for stat in tree:  # grows while iterating: a breadth-first walk, parents first
            tree.extend(children.get(stat.pid, []))
            sample = self._record(stat, now, parent=names.get(stat.ppid))
            if sample is not None:
                names[stat.pid] = sample.name

    def _record(
        self, stat: procfs.ProcStat, now: float, parent: str | None
    ) -> ProcessSample | None:
        peak = procfs.read_peak_rss_kib(stat.pid)
        if peak is None:  # exited (or a zombie) since the scan: keep the last sample
            return None
        key = (stat.pid, stat.start_ticks)  # a pid may be reused
        sample = self._samples.get(key)
        if sample is None:
            argv = procfs.read_argv(stat.pid)
            sample = ProcessSample(
                pid=stat.pid,
                name=procfs.process_name(argv, stat.comm, parent),
                argv=argv,
                started_s=stat.start_ticks / procfs.CLOCK_TICKS_PER_S,
                last_seen_s=now,
                cpu_s=0.0,
                peak_rss_kib=0,
            )
            self._samples[key] = sample
        elif sample.name not in procfs.PIPELINE_NAMES.values():
            # A fork execs its program after we first saw it: name it again.
            argv = procfs.read_argv(stat.pid)
            sample.argv, sample.name = argv, procfs.process_name(argv, stat.comm, parent)
        sample.last_seen_s = now
        sample.cpu_s = stat.cpu_ticks / procfs.CLOCK_TICKS_PER_S
        sample.peak_rss_kib = max(sample.peak_rss_kib, peak)
        return sample

    def samples(self) -> list[ProcessSample]:
        return sorted(self._samples.values(), key=lambda s: s.started_s)
