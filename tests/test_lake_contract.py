"""The raw layer's two sides agree: dbt looks where target-s3 writes.

target_s3.lake owns the layout (docs/contracts.md, section 2). The dbt macros
of transform/macros/lake/igdb_manifest.sql find a stream's manifests
(`igdb_manifest_locations`) and refuse a listed key outside the stream's folder
(`igdb_load_manifest`). Here the real target writes a lake (in-process), and
dbt itself (in-process, `compile --inline`) reads it: if either side moves a
path alone, these tests fail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from dbt.cli.main import dbtRunner
from target_s3 import lake
from target_s3.lake import Manifest
from target_s3.target import TargetS3

ROOT = Path(__file__).resolve().parents[1]
PROJECT_DIR = ROOT / "transform"
PROFILES_DIR = PROJECT_DIR / "profiles" / "duckdb"
TARGET_INPUTS = ROOT / "target-s3" / "tests" / "resources"
PREFIX = "lake/raw"  # not the default: both sides must apply the prefix setting
# The recorded tap output of one stream per layout.
STREAMS: dict[str, tuple[lake.Layout, str]] = {
    "games": ("incremental", "games_incremental.singer"),
    "genres": ("snapshot", "genres_snapshot.singer"),
}


def write_lake(root: Path) -> None:
    """The real target loads both streams into a local lake at `root`."""
    lines = "".join(
        (TARGET_INPUTS / name).read_text(encoding="utf-8") for _, name in STREAMS.values()
    )
    with contextlib.redirect_stdout(io.StringIO()):  # its STATE messages
        TargetS3(config={"local_path": str(root), "prefix": PREFIX}).listen(io.StringIO(lines))


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
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


def dbt_compile(expression: str, lake_root: Path, workdir: Path) -> Any:
    """What a Jinja expression evaluates to in the dbt project, reading `lake_root`."""
    inline = f"{{% if execute %}}{{{{ tojson({expression}) }}}}{{% endif %}}"
    argv = [
        "compile", "--inline", inline, "--quiet",
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROFILES_DIR),
        "--target-path", str(workdir / "target"),
        "--log-path", str(workdir / "logs"),
    ]  # fmt: skip
    env = {
        "DBT_PROJECT_DIR": str(PROJECT_DIR),
        "MELTANO_ENVIRONMENT": "dev",
        "IGDB_LAKE_ROOT": str(lake_root),
        "IGDB_LAKE_PREFIX": PREFIX,
        "IGDB_MART_ROOT": str(workdir / "marts"),
        "DBT_DUCKDB_PATH": str(workdir / "igdb.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    with environment(env), contextlib.chdir(PROJECT_DIR):
        result = dbtRunner().invoke(argv)
    if not result.success:
        raise DbtError(str(result.exception))
    run: Any = result.result  # compile's RunExecutionResult (dbt types it as one of many)
    compiled = run.results[0].node.compiled_code
    assert isinstance(compiled, str)
    return json.loads(compiled)


class DbtError(Exception):
    """dbt refused: the message is dbt's."""


def listed(lake_root: Path, stream: str) -> Manifest:
    layout, _ = STREAMS[stream]
    return Manifest.from_json((lake_root / lake.manifest_key(PREFIX, stream, layout)).read_bytes())


@pytest.fixture(scope="module")
def lake_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("contract") / "lake"
    write_lake(root)
    return root


@pytest.fixture(scope="module")
def seen_by_dbt(lake_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The manifests' locations dbt looks at, and the manifests it reads, per stream."""
    locations = ", ".join(f"'{s}': igdb_manifest_locations('{s}')" for s in STREAMS)
    manifests = ", ".join(f"'{s}': igdb_read_manifest('{s}')" for s in STREAMS)
    expression = f"{{'locations': {{{locations}}}, 'manifests': {{{manifests}}}}}"
    return dbt_compile(expression, lake_root, tmp_path_factory.mktemp("dbt"))


@pytest.mark.parametrize("stream", STREAMS)
def test_dbt_looks_for_the_manifests_where_the_target_puts_them(
    stream: str, lake_root: Path, seen_by_dbt: Any
) -> None:
    looked_at = {where["layout"]: where["path"] for where in seen_by_dbt["locations"][stream]}

    assert looked_at == {
        layout: f"{lake_root}/{lake.manifest_key(PREFIX, stream, layout)}"
        for layout in lake.LAYOUTS
    }


@pytest.mark.parametrize("stream", STREAMS)
def test_dbt_reads_exactly_the_files_the_target_listed(
    stream: str, lake_root: Path, seen_by_dbt: Any
) -> None:
    layout, _ = STREAMS[stream]
    manifest = listed(lake_root, stream)
    read = seen_by_dbt["manifests"][stream]

    assert read is not None, f"dbt found no manifest of {stream}"
    assert read["layout"] == layout
    assert read["path"] == f"{lake_root}/{lake.manifest_key(PREFIX, stream, layout)}"
    assert read["table_version"] == str(manifest.table_version)
    assert [item["key"] for item in read["files"]] == [item.key for item in manifest.files]
    assert [item["path"] for item in read["files"]] == [
        f"{lake_root}/{item.key}" for item in manifest.files
    ]
    assert manifest.files
    assert all(Path(item["path"]).is_file() for item in read["files"])


def test_dbt_refuses_a_listed_key_outside_the_targets_stream_folder(
    lake_root: Path, tmp_path: Path
) -> None:
    """The key check of igdb_load_manifest is the target's folder, no looser, no other."""
    moved_root = tmp_path / "lake"
    shutil.copytree(lake_root, moved_root)
    manifest = listed(moved_root, "games")
    # A key the target would give the other layout's folder of the same stream.
    stray = lake.batch_key(PREFIX, "games", "snapshot", dt.datetime.now(dt.UTC), gzip=True)
    manifest.files = [replace(manifest.files[0], key=stray), *manifest.files[1:]]
    key = lake.manifest_key(PREFIX, "games", "incremental")
    (moved_root / key).write_bytes(manifest.to_json())

    with pytest.raises(DbtError) as refused:
        dbt_compile("igdb_read_manifest('games')", moved_root, tmp_path / "dbt")

    folder = lake.stream_folder(PREFIX, "games", "incremental")
    assert f"file key {stray} is not under {folder}/" in str(refused.value)
