"""dbt-duckdb plugin: check the profile's settings and prepare each DuckDB
connection for the IGDB lake.

- The settings that come from the environment (transform/dbt-duckdb.meltano.yml)
  are checked before DuckDB opens anything: a bad one stops the run with one
  line naming it, where DuckDB would fail with a traceback, or silently take
  `s3_url_style: sideways`.
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

import re
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.exceptions import DbtRuntimeError
from typing_extensions import override

# The project's words for true and false (the tap's and the target's are the same,
# tests/test_settings_vocabulary.py); DuckDB itself refuses `on` and `off`, so the
# plugin hands it `true` or `false`.
BOOLEAN_WORDS: dict[str, bool] = {"true": True, "1": True, "yes": True, "on": True}
BOOLEAN_WORDS |= {"false": False, "0": False, "no": False, "off": False}
BOOLEAN_SETTINGS = ("s3_use_ssl",)
URL_STYLES = frozenset({"vhost", "path"})
HOST_PORT = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?")
MEMORY = re.compile(r"\s*[0-9]+(\.[0-9]+)?\s*([KMGT]i?B|B)\s*", re.IGNORECASE)


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


def is_s3_or_local(location: str) -> bool:
    """A directory, or s3://bucket with an optional path."""
    if is_local_path(location):
        return bool(location.strip())
    parts = urlsplit(location)
    return parts.scheme == "s3" and bool(parts.netloc) and " " not in location


def is_database_file(path: str) -> bool:
    """Not empty, and not an existing directory (DuckDB fails on those with a traceback)."""
    return bool(path.strip()) and not (is_local_path(path) and Path(path).is_dir())


# The profile's settings that come from the environment: the Meltano setting, its
# variable, and the rule for its value. The profile turns an empty variable into
# its default (prod has none for the mart root).
RULES: tuple[tuple[str, str, str, Callable[[str], bool]], ...] = (
    ("path", "DBT_DUCKDB_PATH", "must be a DuckDB file", is_database_file),
    ("mart_root", "IGDB_MART_ROOT", "must be a directory or s3://bucket[/path]", is_s3_or_local),
    (
        "s3_endpoint",
        "IGDB_S3_ENDPOINT",
        "must be host[:port], without http:// (see s3_use_ssl)",
        lambda v: HOST_PORT.fullmatch(v) is not None,
    ),
    (
        "memory_limit",
        "IGDB_DUCKDB_MEMORY_LIMIT",
        "must be a size such as 300MB or 2GB",
        lambda v: MEMORY.fullmatch(v) is not None,
    ),
    (
        "threads",
        "IGDB_DUCKDB_THREADS",
        "must be a whole number of at least 1",
        lambda v: v.strip().isdigit() and int(v) >= 1,
    ),
    (
        "s3_url_style",
        "IGDB_S3_URL_STYLE",
        "must be vhost or path",
        lambda v: v.lower() in URL_STYLES,
    ),
    (
        "s3_use_ssl",
        "IGDB_S3_USE_SSL",
        "must be true or false",
        lambda v: v.strip().lower() in BOOLEAN_WORDS,
    ),
)


def setting_errors(values: Mapping[str, str]) -> list[str]:
    """What is wrong with the settings in `values` (by setting name), one line each."""
    errors = []
    for name, variable, rule, valid in RULES:
        value = values.get(name)
        if value is not None and not valid(value):
            # prod's roots are s3://$IGDB_LAKE_BUCKET[/marts] (meltano.yml)
            unset = value.startswith("s3://") and not urlsplit(value).netloc
            hint = " (is IGDB_LAKE_BUCKET set?)" if unset else ""
            errors.append(f"setting {name} ({variable}) {rule}, got {value!r}{hint}")
    return errors


class Plugin(BasePlugin):
    """Loads httpfs and creates the local mart directories."""

    @override
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        """Check the settings; read the directories to create under a local mart root."""
        if self.creds is not None:
            given = {**(self.creds.config_options or {}), **(self.creds.settings or {})}
            values = {name: str(value) for name, value in given.items()}
            values |= {"path": str(self.creds.path), "mart_root": str(self.creds.external_root)}
            if errors := setting_errors(values):
                # A dbt error: dbt prints its message alone, without a traceback.
                raise DbtRuntimeError("; ".join(errors))
            settings = self.creds.settings or {}
            for name in BOOLEAN_SETTINGS:
                if name in settings:
                    # dbt-duckdb sets each cursor's settings from this very mapping.
                    word = str(settings[name]).strip().lower()
                    settings[name] = "true" if BOOLEAN_WORDS[word] else "false"
        directories = plugin_config.get("mart_directories", [])
        if not isinstance(directories, list) or not all(isinstance(d, str) for d in directories):
            raise TypeError("igdb_lake plugin: mart_directories must be a list of strings")
        self.mart_directories: list[str] = directories

    @override
    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        """Create the DuckDB file's directory before dbt-duckdb connects."""
        path = str(creds.path)
        if path != ":memory:" and is_local_path(path):
            Path(path).parent.mkdir(parents=True, exist_ok=True)

    @override
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
