"""The entity contract: the dbt sources and staging models follow the tap's schemas.

The tap's stream declarations and JSON schemas are the single source of truth;
`make models` generates the dbt side from them (transform/contract/generate.py). These
tests hold the two sides together: the committed files are what the command writes,
and every stream the tap discovers has a source table with exactly its fields, typed
by the mapping below (written out here, not taken from the generator, so a wrong rule
in the generator cannot pass its own test).
"""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from transform.contract import generate

ROOT = Path(__file__).resolve().parents[2]
STAGING = ROOT / "transform" / "models" / "staging" / "igdb"
TAP = Path(sys.executable).with_name("tap-igdb")

JSON_TO_DUCKDB = {
    "integer": "bigint",
    "number": "double",
    "string": "varchar",
    "boolean": "boolean",
    "object": "json",
}
# What target-s3 adds to every line, and what the raw views add.
METADATA = {
    "_sdc_extracted_at": "timestamptz",
    "_sdc_table_version": "bigint",
    "_igdb_loaded_at": "timestamptz",
    "_igdb_file_key": "varchar",
    "_igdb_file_position": "bigint",
    "_igdb_row": "bigint",
}


@cache
def catalog() -> dict[str, Any]:
    return generate.discover(TAP)


def sources() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load((STAGING / "_igdb__sources.yml").read_text())
    (source,) = document["sources"]
    return {table["name"]: table for table in source["tables"]}


def expected_type(spec: Mapping[str, Any]) -> str:
    kinds = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    (kind,) = [k for k in kinds if k != "null"]
    if kind == "array":
        return expected_type(spec["items"]) + "[]"
    return JSON_TO_DUCKDB[kind]


def contract_mismatches(
    streams: Mapping[str, Any], tables: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Each difference between the tap's catalog and the dbt sources, one line each."""
    problems = []
    for entry in streams["streams"]:
        name = entry["tap_stream_id"]
        table = tables.get(name)
        if table is None:
            problems.append(f"{name}: no dbt source table")
            continue
        wanted = {
            field: expected_type(spec) for field, spec in entry["schema"]["properties"].items()
        }
        wanted |= METADATA
        declared = {column["name"]: column["data_type"] for column in table["columns"]}
        problems += [
            f"{name}.{f}: in the schema, not in the source" for f in wanted - declared.keys()
        ]
        problems += [
            f"{name}.{f}: in the source, not in the schema" for f in declared - wanted.keys()
        ]
        problems += [
            f"{name}.{f}: source type {declared[f]}, schema type {wanted[f]}"
            for f in wanted.keys() & declared.keys()
            if declared[f] != wanted[f]
        ]
    return problems


def test_the_committed_models_are_what_make_models_writes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "transform.contract.generate", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_discovered_stream_has_a_source_with_exactly_its_fields() -> None:
    streams = catalog()
    assert len(streams["streams"]) >= 21
    assert contract_mismatches(streams, sources()) == []


def test_a_property_added_to_a_schema_alone_breaks_the_contract() -> None:
    changed = copy.deepcopy(catalog())
    games = next(s for s in changed["streams"] if s["tap_stream_id"] == "games")
    games["schema"]["properties"]["brand_new_field"] = {"type": ["string", "null"]}
    assert contract_mismatches(changed, sources()) == [
        "games.brand_new_field: in the schema, not in the source"
    ]


def test_every_field_the_tap_extracts_is_staged() -> None:
    for entry in catalog()["streams"]:
        name = entry["tap_stream_id"]
        document = yaml.safe_load((STAGING / f"stg_igdb__{name}.yml").read_text())
        (model,) = document["models"]
        staged = [column["name"] for column in model["columns"]]
        fields = entry["schema"]["properties"]
        # Every field, once, plus the two load columns; the key first, as <entity>_id.
        assert len(staged) == len(set(staged)) == len(fields) + 2, name
        assert staged[0] == f"{generate.singular(name)}_id"
        assert staged[-2:] == ["extracted_at", "loaded_at"]


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("games", "game"),
        ("companies", "company"),
        ("game_statuses", "game_status"),
        ("character_species", "character_species"),
        ("age_rating_content_descriptions_v2", "age_rating_content_description_v2"),
        ("platform_families", "platform_family"),
        ("company_type_histories", "company_type_history"),
        ("game_time_to_beats", "game_time_to_beat"),
        ("involved_companies", "involved_company"),
        ("dlcs", "dlc"),
    ],
)
def test_entity_names_are_singular(plural: str, singular: str) -> None:
    assert generate.singular(plural) == singular


def field(name: str, **spec: Any) -> generate.Field:
    spec = {"type": ["integer", "null"], "description": "d", **spec}
    return generate._field("covers", name, spec)


def test_naming_rules() -> None:
    stream = generate.Stream("covers", "", "id", None, ())
    reference = {"x-igdb": {"kind": "reference", "endpoint": "games"}}
    assert generate.staged_name(stream, field("id")) == "cover_id"
    assert generate.staged_name(stream, field("game", **reference)) == "game_id"
    assert generate.staged_name(stream, field("game_id", **reference)) == "game_id"
    games = field("similar_games", type=["array", "null"], items={"type": "integer"}, **reference)
    assert generate.staged_name(stream, games) == "similar_game_ids"
    animated = field("animated", type=["boolean", "null"])
    assert generate.staged_name(stream, animated) == "is_animated"
    assert generate.staged_name(stream, field("width")) == "width"


def test_a_unix_seconds_field_must_be_staged_as_an_at_column() -> None:
    stream = generate.Stream("covers", "", "id", None, ())
    seconds = field("published", **{"x-igdb": {"kind": "unix_seconds"}})
    with pytest.raises(generate.ContractError, match=r"covers\.published is unix seconds"):
        generate.staged_name(stream, seconds)
    renamed = generate.Stream("covers", "", "id", None, (), renames={"published": "published_at"})
    assert generate.staged_name(renamed, seconds) == "published_at"


def test_a_field_without_a_description_is_refused() -> None:
    with pytest.raises(generate.ContractError, match=r"covers\.width: the schema gives no"):
        generate._field("covers", "width", {"type": ["integer", "null"]})
