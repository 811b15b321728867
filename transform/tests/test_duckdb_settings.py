"""DuckDB's memory cap, threads and spill directory: set by the profile, with
defaults that keep a 375k-game build under 500 MB, and overridable from the
environment (transform/dbt-duckdb.meltano.yml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SETTINGS_SQL = (
    "select current_setting('memory_limit') as memory_limit,"
    " current_setting('threads')::varchar as threads,"
    " current_setting('temp_directory') as temp_directory"
)
S3_MEMORY_SQL = (
    "select current_setting('s3_uploader_max_filesize') as s3_uploader_max_filesize,"
    " current_setting('enable_external_file_cache')::varchar as enable_external_file_cache"
)


def duckdb_settings(project: Any) -> dict[str, str]:
    """The settings a dbt session's DuckDB connection runs with."""
    (row,) = project.show(SETTINGS_SQL)
    return {name: str(value) for name, value in row.items()}


def test_defaults_cap_memory_and_spill_next_to_the_database(tmp_path: Path, igdb: Any) -> None:
    lake, project = igdb.local_project(tmp_path)
    lake.write_streams(igdb.sample_streams())

    assert duckdb_settings(project) == {
        "memory_limit": "286.1 MiB",  # 300MB
        "threads": "2",
        "temp_directory": f"{project.workdir / 'igdb.duckdb'}.tmp",
    }


def test_the_environment_overrides_each_setting(tmp_path: Path, igdb: Any) -> None:
    spill = tmp_path / "spill"
    lake, project = igdb.local_project(
        tmp_path,
        extra_env={
            "IGDB_DUCKDB_MEMORY_LIMIT": "1GB",
            "IGDB_DUCKDB_THREADS": "1",
            "IGDB_DUCKDB_TEMP_DIRECTORY": str(spill),
        },
    )
    lake.write_streams(igdb.sample_streams())

    assert duckdb_settings(project) == {
        "memory_limit": "953.6 MiB",
        "threads": "1",
        "temp_directory": str(spill),
    }


def test_s3_reads_and_writes_stay_inside_the_cap(tmp_path: Path, igdb: Any) -> None:
    """Upload parts of 5 MB, not 80 MB (a 375k-game build on S3 ran out of memory),
    and no copy of the raw files read from S3 kept in DuckDB's buffer pool."""
    lake, project = igdb.local_project(tmp_path)
    lake.write_streams(igdb.sample_streams())

    (row,) = project.show(S3_MEMORY_SQL)

    assert {name: str(value) for name, value in row.items()} == {
        "s3_uploader_max_filesize": "50GB",
        "enable_external_file_cache": "false",
    }


def test_s3_use_ssl_takes_the_project_s_boolean_words(tmp_path: Path, igdb: Any) -> None:
    """The words every plugin of the project reads as true or false (on and off
    included, which DuckDB itself would refuse)."""
    for word, expected in (("off", False), ("On", True), ("no", False), ("1", True)):
        lake, project = igdb.local_project(tmp_path / word, extra_env={"IGDB_S3_USE_SSL": word})
        lake.write_streams(igdb.sample_streams())
        (row,) = project.show("select current_setting('s3_use_ssl') as s3_use_ssl")
        assert row["s3_use_ssl"] is expected, word
