"""The IGDB emulator as its own process (`python -m igdb_emulator`) and its admin API."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.scenarios import Source
from tests.support import processes

START_TIMEOUT_S = 600.0  # generating 375,000 games takes ~20 s on a quiet machine
STOP_TIMEOUT_S = 30.0
ADMIN_TIMEOUT_S = 600.0


class SourceError(RuntimeError):
    """The emulator did not start or answer as expected."""


def emulator_argv(games: int, seed: int, source: Source, ready_file: Path) -> list[str]:
    """IGDB's limits and the given latency; `unthrottled` lifts both."""
    argv = [sys.executable, "-m", "igdb_emulator", "--dataset", "generated"]
    argv += ["--games", str(games), "--seed", str(seed), "--ready-file", str(ready_file)]
    if source == "unthrottled":
        return [*argv, "--unthrottled", "--latency", "none"]
    return [*argv, "--latency", source]


@dataclass
class EmulatorProcess:
    """One emulator process; a context manager that starts it and stops it."""

    games: int
    seed: int
    source: Source
    workdir: Path
    ready: dict[str, Any] = field(default_factory=dict)
    _process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise SourceError("emulator not started")
        return self._process.pid

    def __enter__(self) -> EmulatorProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        ready_file = self.workdir / f"emulator-{self.source}.json"
        ready_file.unlink(missing_ok=True)
        with (self.workdir / f"emulator-{self.source}.log").open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                emulator_argv(self.games, self.seed, self.source, ready_file),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self.ready = self._wait_for(ready_file)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_for(self, ready_file: Path) -> dict[str, Any]:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise SourceError(
                    f"igdb_emulator exited with {self._process.returncode}; "
                    f"see {self.workdir}/emulator-{self.source}.log"
                )
            if ready_file.exists():
                return dict(json.loads(ready_file.read_text()))
            time.sleep(0.2)  # poll interval of a deadline-bounded wait
        raise SourceError(f"igdb_emulator not ready after {START_TIMEOUT_S:.0f}s")

    def stop(self) -> None:
        process, self._process = self._process, None
        processes.stop(process, STOP_TIMEOUT_S)

    def tap_environment(self) -> dict[str, str]:
        """The tap settings, as Meltano environment variables, that point at this emulator."""
        return {
            "TAP_IGDB_API_URL": str(self.ready["api_url"]),
            "TAP_IGDB_AUTH_URL": str(self.ready["auth_url"]),
            "TAP_IGDB_CLIENT_ID": str(self.ready["client_id"]),
            "TAP_IGDB_CLIENT_SECRET": str(self.ready["client_secret"]),
        }

    # the admin API (loopback, not rate limited, not logged)
    def _admin(self, method: str, route: str, payload: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - our own loopback http URL
            f"{self.ready['admin_url']}/{route}",
            data=None if payload is None else json.dumps(payload).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=ADMIN_TIMEOUT_S) as response:  # noqa: S310
            return json.loads(response.read())

    def one_day(self, changed: dict[str, int], seed: int) -> list[dict[str, Any]]:
        """Move the source's clock one day, with `changed[endpoint]` records changed in it."""
        spec = {"changes": {e: {"changed": n} for e, n in changed.items()}, "seed": seed}
        return list(self._admin("POST", "one-day", spec))

    def record_count(self, endpoint: str) -> int:
        return int(self._admin("GET", f"count/{endpoint}")["count"])

    def requests(self) -> list[dict[str, Any]]:
        return list(self._admin("GET", "requests"))

    def clear_requests(self) -> None:
        self._admin("DELETE", "requests")

    def truth(self, endpoint: str) -> Iterator[dict[str, Any]]:
        """The source's records, sorted by id, one JSONL line at a time."""
        url = f"{self.ready['admin_url']}/truth/{endpoint}"
        with urllib.request.urlopen(url, timeout=ADMIN_TIMEOUT_S) as response:  # noqa: S310
            for line in response:
                if line.strip():
                    yield json.loads(line)
