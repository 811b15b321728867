"""Crash injection: find a plugin process under a running `meltano` and SIGKILL it.

Processes are found by walking /proc (the children of the meltano process and
theirs). A kill goes through a pidfd opened on the process we identified, and
only if it is still running, so it can never hit a recycled pid and it reports
whether the victim was really alive: a kill that lands after the process
exited proves nothing.

A kill lands where the victim provably waits, never at a moment a poll happens
to see: the tap and the target while the IGDB emulator holds a request (the
`hold` fault), a writer of a file while it is stuck writing into a `WriteGate`.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

POLL_S = 0.01


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    state: str  # the kernel's one-letter state; "Z" is exited but not yet reaped
    started: int  # clock ticks after boot: with the pid, names one process for good
    argv: tuple[str, ...]

    @property
    def program(self) -> str:
        """The executable's name, or the script's for `python path/to/script ...`."""
        if not self.argv:
            return ""
        name = Path(self.argv[0]).name
        if name.startswith("python") and len(self.argv) > 1:
            return Path(self.argv[1]).name
        return name

    @property
    def running(self) -> bool:
        current = read_process(self.pid)
        return current is not None and current.started == self.started and current.state != "Z"


def read_process(pid: int) -> Process | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:  # exited meanwhile
        return None
    # The command name may hold spaces and parentheses: split after its last ")".
    fields = stat.rsplit(")", 1)[1].split()
    return Process(
        pid=pid,
        ppid=int(fields[1]),
        state=fields[0],
        started=int(fields[19]),
        argv=tuple(arg.decode(errors="replace") for arg in argv if arg),
    )


def descendants(root: int) -> list[Process]:
    """Every live process below `root`, parents before children."""
    processes = [
        p for entry in os.listdir("/proc") if entry.isdigit() if (p := read_process(int(entry)))
    ]
    children: dict[int, list[Process]] = {}
    for process in processes:
        children.setdefault(process.ppid, []).append(process)
    found: list[Process] = []
    parents = [root]
    while parents:
        level = [child for parent in parents for child in children.get(parent, [])]
        found.extend(level)
        parents = [child.pid for child in level]
    return found


def find(root: int, program: str, *, excluding: tuple[str, ...] = ()) -> Process | None:
    """The running descendant of `root` named `program`, without any argument in `excluding`."""
    for process in descendants(root):
        if (
            process.program == program
            and process.state != "Z"
            and not set(excluding) & set(process.argv)
        ):
            return process
    return None


def sigkill(process: Process) -> bool:
    """SIGKILL `process` if it is still running; True when the signal was sent to it alive."""
    try:
        handle = os.pidfd_open(process.pid)
    except ProcessLookupError:
        return False
    try:
        # The pidfd pins the pid: check it still names our process before signalling.
        if not process.running:
            return False
        signal.pidfd_send_signal(handle, signal.SIGKILL)
    except ProcessLookupError:
        return False
    finally:
        os.close(handle)
    return True


class WatchedRun:
    """A started `meltano` process whose merged output is read as it arrives.

    Reading continuously also keeps a full pipe from stalling the run.
    """

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self._lines.append(line)

    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def output(self) -> str:
        return "".join(self.lines())

    def wait(self, timeout: float) -> int:
        returncode = self.process.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        return returncode

    def stop(self) -> None:
        """Kill the run and every process below it, if it is still going (a failed test)."""
        if self.process.poll() is None:
            for process in descendants(self.process.pid):
                sigkill(process)
            self.process.kill()
            self.process.wait()


@dataclass(frozen=True)
class Kill:
    victim: Process
    alive: bool  # the victim was running when SIGKILL was sent
    bystanders: list[Process]  # every process of the run at that moment (victim included)


def wait_while_running(
    run: WatchedRun, ready: Callable[[float], bool], *, timeout: float, what: str
) -> None:
    """Wait until `ready(seconds)` (a wait of its own, up to `seconds`) holds; AssertionError
    when the run ends first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while not ready(POLL_S * 10):
        assert run.process.poll() is None, f"the run ended before {what}:\n{run.output()[-3000:]}"
        assert time.monotonic() < deadline, f"not {what} within {timeout} s"


def kill(run: WatchedRun, program: str, *, excluding: tuple[str, ...] = ()) -> Kill:
    """SIGKILL the run's `program` process, which must be running now."""
    victim = find(run.process.pid, program, excluding=excluding)
    assert victim is not None, f"the run has no {program} process"
    return Kill(victim, sigkill(victim), descendants(run.process.pid))


class WriteGate:
    """A named pipe at `path`, where a process is about to write a new file: the writer's
    open() of the path succeeds, its first bytes arrive, and then it is stuck inside its
    write, alive, until it is killed. Nothing is ever read, and the pipe holds one page.

    `wait(seconds)` says whether the writer has written; `close()` removes the pipe.
    """

    PIPE_BYTES = 4096

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path)
        # Read and write: the open never blocks, and the pipe exists (to be sized) at once.
        self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        fcntl.fcntl(self._fd, fcntl.F_SETPIPE_SZ, self.PIPE_BYTES)

    def wait(self, seconds: float) -> bool:
        readable, _, _ = select.select([self._fd], [], [], seconds)
        return bool(readable)

    def close(self) -> None:
        os.close(self._fd)
        self.path.unlink(missing_ok=True)


def wait_until_gone(processes: list[Process], timeout: float) -> list[Process]:
    """Wait for `processes` to exit; return those still running after `timeout`."""
    deadline = time.monotonic() + timeout
    while (alive := [p for p in processes if p.running]) and time.monotonic() < deadline:
        time.sleep(0.1)  # orphans exit on their own (closed pipes); the deadline bounds it
    return alive
