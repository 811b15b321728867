"""Where and with what a run happened: CPU, cores, RAM, Python, tool versions, git commit."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

VERSIONED = ("meltano", "singer-sdk", "dbt-core", "dbt-duckdb", "duckdb")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def machine() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(_ram_gib(), 1),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def versions() -> dict[str, str]:
    """Versions in the project environment; the plugin virtualenvs share its lock."""
    found = {}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def git(root: Path) -> dict[str, Any]:
    def run(*args: str) -> str:
        completed = subprocess.run(  # noqa: S603 - fixed argv, read-only git commands
            ["git", *args],  # noqa: S607 - git from PATH
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        return completed.stdout.strip()

    return {
        "commit": run("rev-parse", "HEAD") or "unknown",
        "dirty": bool(run("status", "--porcelain")),
    }
