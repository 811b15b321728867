"""The lake contract module: the keys, the manifest document, the metadata columns,
and that no other module of the target spells any of them."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import target_s3
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR
from target_s3 import lake

LOADED = dt.datetime(2026, 11, 26, 6, 0, 1, tzinfo=dt.UTC)
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PACKAGE = Path(target_s3.__file__).parent


def test_the_keys_of_both_layouts_are_the_documented_ones() -> None:
    assert lake.stream_folder("raw", "genres", "snapshot") == "raw/dimensions/genres"
    assert lake.stream_folder("raw", "games", "incremental") == "raw/games"
    assert lake.manifest_key("raw", "genres", "snapshot") == "raw/dimensions/genres/_manifest.json"
    assert lake.manifest_key("lake/raw", "games", "incremental") == "lake/raw/games/_manifest.json"
    assert lake.lock_key("raw") == "raw/_lock.json"
    assert lake.is_manifest_key("raw/dimensions/genres/_manifest.json")
    assert not lake.is_manifest_key("raw/games/dt=2026-11-26/x_manifest.json")


def test_batch_keys_carry_the_load_time_a_uuid_and_the_partition() -> None:
    snapshot = lake.batch_key("raw", "genres", "snapshot", LOADED, gzip=True)
    incremental = lake.batch_key("raw", "games", "incremental", LOADED, gzip=False)

    assert re.fullmatch(
        rf"raw/dimensions/genres/batch-20261126T060001Z-{UUID}\.jsonl\.gz", snapshot
    )
    assert re.fullmatch(
        rf"raw/games/dt=2026-11-26/batch-20261126T060001Z-{UUID}\.jsonl", incremental
    )
    assert lake.partition("incremental", LOADED) == "dt=2026-11-26"
    assert lake.partition("snapshot", LOADED) is None
    assert lake.batch_key("raw", "games", "incremental", LOADED, gzip=True) != lake.batch_key(
        "raw", "games", "incremental", LOADED, gzip=True
    )


def test_the_layout_follows_the_schema_messages_bookmark_properties() -> None:
    assert lake.layout_for(["updated_at"]) == "incremental"
    assert lake.layout_for([]) == "snapshot"
    assert lake.layout_for(None) == "snapshot"


def test_the_manifest_document_round_trips_field_for_field() -> None:
    listed = lake.ManifestFile(
        key="raw/games/dt=2026-11-26/batch-20261126T060001Z-3f2a.jsonl.gz",
        records=50_000,
        bytes=12_345_678,
        partition="dt=2026-11-26",
        loaded_at=lake.manifest_time(LOADED),
        table_version=1764136800123,
    )
    manifest = lake.Manifest(
        stream="games",
        layout="incremental",
        table_version=1764136800123,
        generation=7,
        updated_at="2026-11-26T06:00:00Z",
        files=[listed],
        removed=[
            lake.RemovedFile(
                key="raw/games/dt=2026-11-19/batch-old.jsonl.gz", removed_at="2026-11-26T06:00:00Z"
            )
        ],
        untagged=[listed.key],
    )

    document = json.loads(manifest.to_json())

    assert list(document) == [
        "manifest_version",
        "stream",
        "layout",
        "table_version",
        "generation",
        "updated_at",
        "files",
        "removed",
        "untagged",
    ]
    assert document["manifest_version"] == 1
    assert document["files"] == [
        {
            "key": listed.key,
            "records": 50_000,
            "bytes": 12_345_678,
            "partition": "dt=2026-11-26",
            "loaded_at": "2026-11-26T06:00:01Z",
            "table_version": 1764136800123,
        }
    ]
    assert document["removed"] == [
        {"key": "raw/games/dt=2026-11-19/batch-old.jsonl.gz", "removed_at": "2026-11-26T06:00:00Z"}
    ]
    assert lake.Manifest.from_json(manifest.to_json()) == manifest


def test_a_manifest_without_the_newer_fields_still_reads() -> None:
    """Manifests written before `removed` (and `untagged`) existed: nothing was removed."""
    document = {
        "manifest_version": 1,
        "stream": "games",
        "layout": "incremental",
        "table_version": 1,
        "generation": 1,
        "updated_at": "2026-11-26T06:00:00Z",
        "files": [],
    }

    manifest = lake.Manifest.from_json(json.dumps(document).encode())

    assert manifest.removed == []
    assert manifest.untagged == []
    assert manifest.manifest_version == 1  # readers of `files` need no change


def test_batch_keys_are_told_from_the_other_keys_of_the_lake() -> None:
    key = lake.batch_key("raw", "games", "incremental", LOADED, gzip=True)

    assert lake.is_batch_key(key)
    assert lake.is_batch_key(lake.batch_key("raw", "genres", "snapshot", LOADED, gzip=False))
    assert not lake.is_batch_key(lake.manifest_key("raw", "games", "incremental"))
    assert not lake.is_batch_key(lake.lock_key("raw"))
    assert not lake.is_batch_key(lake.probe_key("raw"))
    assert not lake.is_batch_key("raw/games/notes.txt")


def test_every_line_carries_exactly_the_metadata_columns(local_lake: Any, singer: Any) -> None:
    local_lake.run(singer.lines("games_incremental.singer"))
    originals = {game["id"]: game for game in singer.seed_records("igdb_games_mock.jsonl")}

    lines = local_lake.records(lake.stream_folder("raw", "games", "incremental"))

    assert len(lines) == len(originals)
    for line in lines:
        added = {name: line[name] for name in set(line) - set(originals[line["id"]])}
        assert set(added) == set(lake.METADATA_COLUMNS)
        for name, value in added.items():
            DEFAULT_JSONSCHEMA_VALIDATOR(lake.METADATA_COLUMNS[name]).validate(value)
            if lake.METADATA_COLUMNS[name].get("format") == "date-time":
                assert dt.datetime.fromisoformat(value).utcoffset() == dt.timedelta(0)


def _strings(tree: ast.AST) -> list[str]:
    """Every string literal of a module, f-string parts included, docstrings excluded."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]


@pytest.mark.parametrize(
    "module", sorted(path.name for path in PACKAGE.glob("*.py") if path.name != "lake.py")
)
def test_no_other_module_spells_a_key_a_tag_or_a_column(module: str) -> None:
    fragments = [
        lake.MANIFEST_NAME,
        lake.LOCK_NAME,
        lake.PROBE_NAME,
        f"{lake.DIMENSIONS_FOLDER}/",
        "dt=",
        "batch-",
        ".jsonl",
        "_sdc_",
    ]
    words = {lake.STATUS_TAG, lake.STATUS_TEMP, lake.STATUS_FINAL, lake.STATUS_OUTDATED}
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))

    tagging = f"{lake.STATUS_TAG}="
    spelled = [
        text
        for text in _strings(tree)
        if text in words or text.startswith(tagging) or any(f in text for f in fragments)
    ]

    assert spelled == [], f"{module} spells what target_s3.lake owns"
