"""dbt-duckdb plugin: prepare each DuckDB connection for the IGDB lake.

- httpfs comes from the `duckdb-extension-httpfs` wheel: DuckDB's extension
  server is unreachable here, so `INSTALL httpfs` fails. The wheel ships the
  extension built for the exact duckdb version; loading it by path needs no
  install step and no writable home directory.
- DuckDB creates neither the database file's directory nor the directories
  COPY writes to, so on a fresh checkout the DuckDB file's directory and,
  when the mart root (`external_root`) is on local disk, the mart
  directories (plugin config `mart_directories`) are created up front.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin


def httpfs_extension_path(duckdb_version: str) -> str:
    """Return the httpfs extension file shipped for this duckdb version."""
    package = resources.files("duckdb_extension_httpfs")
    extension = package / "extensions" / duckdb_version / "httpfs.duckdb_extension"
    if not extension.is_file():
        raise RuntimeError(
            f"duckdb-extension-httpfs has no httpfs build for duckdb {duckdb_version}: "
            "pin duckdb and duckdb-extension-httpfs to the same version"
        )
    return str(extension)


def is_local_path(location: str) -> bool:
    """Tell local paths from URLs (s3://, https://, ...)."""
    return "://" not in location


class Plugin(BasePlugin):
    """Loads httpfs and creates the local mart directories."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        """Read the directories to create under a local mart root."""
        directories = plugin_config.get("mart_directories", [])
        if not isinstance(directories, list) or not all(isinstance(d, str) for d in directories):
            raise TypeError("igdb_lake plugin: mart_directories must be a list of strings")
        self.mart_directories: list[str] = directories

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        """Create the DuckDB file's directory before dbt-duckdb connects."""
        path = str(creds.path)
        if path != ":memory:" and is_local_path(path):
            Path(path).parent.mkdir(parents=True, exist_ok=True)

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Load httpfs before the profile's S3 settings are applied."""
        version_row = conn.execute("select version()").fetchone()
        if version_row is None:
            raise RuntimeError("duckdb did not report its version")
        conn.execute(f"load '{httpfs_extension_path(str(version_row[0]))}'")

        mart_root = self.creds.external_root if self.creds is not None else None
        if mart_root and is_local_path(mart_root):
            for directory in self.mart_directories:
                (Path(mart_root) / directory).mkdir(parents=True, exist_ok=True)
