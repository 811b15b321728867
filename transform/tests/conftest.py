"""Fixtures for the dbt project's tests: raw lakes written to the contract,
a dbt runner, and the expected dim_games computed in Python from the records.

The raw layer follows docs/contracts.md section 2 exactly (JSONL(.gz) batch
files plus `_manifest.json`), so these tests exercise what target-s3 writes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt.cli.main import dbtRunner
from igdb_emulator.samples import samples_dir
from target_s3 import lake

from tests.support.dim_games import (
    Records,
    Streams,
    assert_rows_equal,
    expected_dim_games,
    latest_by_id,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO_ROOT / "transform"
PROFILES_DIR = PROJECT_DIR / "profiles" / "duckdb"
SAMPLES = samples_dir()

# Streams the tap reads incrementally (incremental layout); the rest are snapshots.
INCREMENTAL_STREAMS = {"games", "involved_companies"}

# The enum names IGDB serves (igdb-api.md); the samples hold only some of them.
GAME_TYPE_NAMES = {
    0: "Main Game", 1: "DLC", 2: "Expansion", 3: "Bundle", 4: "Standalone Expansion",
    5: "Mod", 6: "Episode", 7: "Season", 8: "Remake", 9: "Remaster", 10: "Expanded Game",
    11: "Port", 12: "Fork", 13: "Pack", 14: "Update",
}  # fmt: skip
GAME_STATUS_NAMES = {
    0: "Released", 2: "Alpha", 3: "Beta", 4: "Early Access", 5: "Offline",
    6: "Cancelled", 7: "Rumored", 8: "Delisted",
}  # fmt: skip

# --------------------------------------------------------------------------- storage


class LocalStore:
    """A lake root on local disk."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)

    def put(self, key: str, body: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(body)
        tmp.replace(path)

    def get(self, key: str) -> bytes | None:
        path = self.root / key
        return path.read_bytes() if path.exists() else None


class S3Store:
    """A lake root in an S3 bucket (SeaweedFS in tests)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self.url = f"s3://{bucket}"

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]  # the client is untyped here
        except self.client.exceptions.NoSuchKey:
            return None


# --------------------------------------------------------------------------- raw lake


@dataclass
class RawLake:
    """Writes the raw layer as target-s3 does: batch files, then the manifest."""

    store: LocalStore | S3Store
    prefix: str = "raw"
    clock: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC))
    incremental_streams: frozenset[str] = frozenset(INCREMENTAL_STREAMS)

    @property
    def url(self) -> str:
        return self.store.url

    def tick(self, **delta: float) -> dt.datetime:
        self.clock += dt.timedelta(**delta) if delta else dt.timedelta(seconds=1)
        return self.clock

    def _layout(self, stream: str) -> lake.Layout:
        return "incremental" if stream in self.incremental_streams else "snapshot"

    def manifest(self, stream: str) -> lake.Manifest | None:
        body = self.store.get(lake.manifest_key(self.prefix, stream, self._layout(stream)))
        return lake.Manifest.from_json(body) if body is not None else None

    def write_batch(
        self,
        stream: str,
        records: Records,
        *,
        table_version: int | None = None,
        compress: bool = True,
    ) -> str:
        """Load one batch file. A new table_version (or a snapshot stream)
        replaces the manifest's files; otherwise the file is appended."""
        now = self.tick()
        manifest = self.manifest(stream)
        layout = self._layout(stream)
        incremental = layout == "incremental"
        if table_version is None:
            if manifest is not None and manifest.table_version is not None and incremental:
                table_version = manifest.table_version
            else:
                table_version = int(now.timestamp() * 1000)
        key = lake.batch_key(self.prefix, stream, layout, now, gzip=compress)
        extracted = now.isoformat().replace("+00:00", "Z")
        metadata = {lake.EXTRACTED_AT: extracted, lake.TABLE_VERSION: table_version}
        lines = "".join(json.dumps({**r, **metadata}) + "\n" for r in records).encode()
        body = gzip.compress(lines) if compress else lines
        self.store.put(key, body)

        entry = lake.ManifestFile(
            key=key,
            records=len(records),
            bytes=len(body),
            partition=lake.partition(layout, now),
            loaded_at=lake.manifest_time(now),
            table_version=table_version,
        )
        generation = (manifest.generation if manifest else 0) + 1
        if manifest is None or not incremental or manifest.table_version != table_version:
            manifest = lake.Manifest(stream=stream, layout=layout)
        manifest.files.append(entry)
        manifest.table_version = table_version
        manifest.generation = generation
        manifest.updated_at = lake.manifest_time(now)
        self.store.put(lake.manifest_key(self.prefix, stream, layout), manifest.to_json())
        return key

    def write_streams(self, streams: Streams, *, batch_size: int = 0) -> None:
        """Load every stream (incremental streams split into batches)."""
        for stream, records in streams.items():
            if stream in self.incremental_streams and batch_size and len(records) > batch_size:
                version = int(self.tick().timestamp() * 1000)
                for start in range(0, len(records), batch_size):
                    self.write_batch(
                        stream, records[start : start + batch_size], table_version=version
                    )
            else:
                self.write_batch(stream, records)


# --------------------------------------------------------------------------- source data


def _read_jsonl(path: Path) -> Records:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def sample_streams() -> Streams:
    """The real IGDB samples: 600 games with complete lookups and companies."""
    seeds = SAMPLES / "gameboy-seeds"
    rag = SAMPLES / "rag-sample"
    streams: Streams = {
        "games": _read_jsonl(seeds / "igdb_games_mock.jsonl")
        + json.loads((rag / "games.json").read_text()),
    }
    for lookup in ("platforms", "genres", "themes", "game_modes", "player_perspectives"):
        streams[lookup] = _read_jsonl(seeds / f"igdb_{lookup}_mock.jsonl")
    for entity in ("involved_companies", "companies", "covers", "keywords", "release_dates",
                   "websites", "external_games", "platform_types", "popularity_types"):  # fmt: skip
        streams[entity] = json.loads((rag / f"{entity}.json").read_text())
    streams["game_types"] = [{"id": i, "type": n} for i, n in GAME_TYPE_NAMES.items()]
    streams["game_statuses"] = [{"id": i, "status": n} for i, n in GAME_STATUS_NAMES.items()]
    return streams


# --------------------------------------------------------------------------- dbt


@dataclass
class DbtProject:
    """Runs the transform/ dbt project in-process against one lake and mart root."""

    lake_url: str
    mart_root: str
    workdir: Path
    target: str = "dev"
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {
            "DBT_PROJECT_DIR": str(PROJECT_DIR),
            "MELTANO_ENVIRONMENT": self.target,
            "IGDB_LAKE_ROOT": self.lake_url,
            "IGDB_MART_ROOT": self.mart_root,
            "DBT_DUCKDB_PATH": str(self.workdir / "igdb.duckdb"),
            **self.extra_env,
        }

    def invoke(self, *args: str) -> Any:
        """Run one dbt command; fail the test with dbt's output when it fails."""
        argv = [
            *args,
            "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(PROFILES_DIR),
            "--target-path", str(self.workdir / "target"),
            "--log-path", str(self.workdir / "logs"),
        ]  # fmt: skip
        with _environment(self.env()), contextlib.chdir(PROJECT_DIR):
            result = dbtRunner().invoke(argv)
        if not result.success:
            log = (self.workdir / "logs" / "dbt.log").read_text()[-6000:]
            pytest.fail(f"dbt {' '.join(args)} failed: {result.exception}\n{log}")
        return result

    def show(self, sql: str) -> list[dict[str, Any]]:
        """Rows of a query run by dbt itself, on its DuckDB connection (`dbt show`)."""
        table = self.invoke("show", "--inline", sql, "--limit", "-1").result.results[0].agate_table
        return [dict(zip(table.column_names, row, strict=True)) for row in table.rows]

    def dim_games(self, connection: Any) -> dict[int, dict[str, Any]]:
        """Read the written Parquet mart (the product), keyed by game_id."""
        rows = connection.execute(
            f"select * from read_parquet('{self.mart_root}/dim_games/dim_games.parquet')"
        )
        columns = [d[0] for d in rows.description]
        return {row[0]: dict(zip(columns, row, strict=True)) for row in rows.fetchall()}


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def duckdb_connection() -> Iterator[Any]:
    """An in-memory DuckDB connection with httpfs, for reading the marts back."""
    connection = duckdb.connect()
    row = connection.execute("select version()").fetchone()
    assert row is not None
    version = row[0]
    extension = resources.files("duckdb_extension_httpfs") / "extensions" / version
    connection.execute(f"load '{extension / 'httpfs.duckdb_extension'}'")
    yield connection
    connection.close()


def local_project(root: Path, **kwargs: Any) -> tuple[RawLake, DbtProject]:
    """A local lake and a dbt project reading it, both under root."""
    lake = RawLake(LocalStore(root / "lake"))
    workdir = root / "dbt"
    workdir.mkdir(parents=True, exist_ok=True)
    return lake, DbtProject(lake.url, str(root / "marts"), workdir, **kwargs)


class Helpers:
    """The module-level helpers, for test modules (conftest is not importable)."""

    sample_streams = staticmethod(sample_streams)
    latest_by_id = staticmethod(latest_by_id)
    expected_dim_games = staticmethod(expected_dim_games)
    assert_rows_equal = staticmethod(assert_rows_equal)
    local_project = staticmethod(local_project)
    raw_lake = RawLake
    s3_store = S3Store
    local_store = LocalStore
    dbt_project = DbtProject


@pytest.fixture(scope="session")
def igdb() -> Helpers:
    return Helpers()
