"""An isolated environment for real `meltano` subprocesses (end-to-end tests, bench).

Every run gets its own system database, state, lake, DuckDB file, marts and
dbt paths under one work directory, and an environment scrubbed of the
caller's IGDB, AWS, Meltano and dbt variables, so it never touches the working
copy's output/ nor another run's files.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRUBBED_PREFIXES = ("TAP_IGDB_", "TARGET_S3_", "MELTANO_", "AWS_", "DBT_", "IGDB_")


def scrubbed_environment() -> dict[str, str]:
    """The caller's environment minus every setting the pipeline reads."""
    return {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}


def private_meltano_dir(workdir: Path, project_sys_dir: Path = ROOT / ".meltano") -> Path:
    """A Meltano system directory of our own that reuses the installed plugins.

    Meltano writes each run's catalog to `<sys dir>/run/<plugin>/`, shared by every
    `meltano run` of the project: a concurrent run elsewhere can delete it mid-run.
    Our own `run/` avoids that; the plugin virtualenvs are linked, not copied.
    """
    sys_dir = workdir / "meltano-sys"
    sys_dir.mkdir(parents=True, exist_ok=True)
    for entry in project_sys_dir.iterdir() if project_sys_dir.is_dir() else []:
        link = sys_dir / entry.name
        if entry.is_dir() and entry.name != "run" and not link.exists():
            link.symlink_to(entry, target_is_directory=True)
    return sys_dir


def isolated_environment(workdir: Path) -> dict[str, str]:
    """The dev environment with everything a run writes under `workdir`."""
    return {
        **scrubbed_environment(),
        "MELTANO_ENVIRONMENT": "dev",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
        "MELTANO_SYS_DIR_ROOT": str(private_meltano_dir(workdir)),
        "MELTANO_STATE_BACKEND_URI": f"file://{workdir / 'state'}",
        "TARGET_S3_LOCAL_PATH": str(workdir / "lake"),
        "DBT_DUCKDB_PATH": str(workdir / "igdb.duckdb"),
        "IGDB_LAKE_ROOT": str(workdir / "lake"),
        "IGDB_MART_ROOT": str(workdir / "marts"),
        "DBT_TARGET_PATH": str(workdir / "dbt-target"),
        "DBT_LOG_PATH": str(workdir / "dbt-logs"),
    }
