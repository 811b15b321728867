"""The dbt models pass sqlfluff (dbt templater, transform/.sqlfluff)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2] / "transform"


def test_models_are_sqlfluff_clean(tmp_path: Path) -> None:
    sqlfluff = Path(sys.executable).parent / "sqlfluff"
    env = {
        **os.environ,
        "DBT_DUCKDB_PATH": str(tmp_path / "lint.duckdb"),
        "IGDB_MART_ROOT": str(tmp_path / "marts"),
        "DBT_PROJECT_DIR": str(PROJECT_DIR),
    }
    result = subprocess.run(
        [str(sqlfluff), "lint", "models", "--disable-progress-bar"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "All Finished" in result.stdout
