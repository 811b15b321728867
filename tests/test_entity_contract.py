"""One entity contract: the tap's schemas and the emulator's catalogue describe the same
IGDB, endpoint by endpoint and field by field (issue "all of IGDB").

The tap's schema files are the reviewed fact (tap-igdb/tap_igdb/schemas/); the
emulator keeps its own catalogue (igdb_emulator/catalog.json) because it also needs
IGDB's key order, and the plugins share no code. This test is where they must agree.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from igdb_emulator.entities import ENTITIES, Field
from tap_igdb.streams import STREAM_TYPES, IncrementalStream

LEFT_OUT = {"search", "reports", "report_types", "entity_types"}


def schema(stream: str) -> dict[str, Any]:
    text = resources.files("tap_igdb").joinpath("schemas", f"{stream}.json").read_text()
    document: dict[str, Any] = json.loads(text)
    return document


def kind_of(spec: dict[str, Any]) -> tuple[str, str | None]:
    """The emulator's kind for one property of a tap schema."""
    types = [spec["type"]] if isinstance(spec["type"], str) else spec["type"]
    (json_type,) = [name for name in types if name != "null"]
    annotation = spec.get("x-igdb") or {}
    if json_type == "array":
        item = spec["items"]["type"]
        if annotation.get("kind") == "reference":
            return "refs", annotation["endpoint"]
        return {"integer": "ints", "string": "strings", "number": "numbers"}[item], None
    if annotation.get("kind") == "reference":
        return "ref", annotation["endpoint"]
    special = {"unix_seconds": "time", "enum": "enum"}
    if annotation.get("kind") in special:
        return special[annotation["kind"]], None
    scalar = {"integer": "int", "number": "number", "string": "string", "boolean": "bool"}
    return scalar[json_type], None


def test_the_tap_and_the_emulator_have_the_same_74_endpoints() -> None:
    streams = {stream.name for stream in STREAM_TYPES}
    assert streams == set(ENTITIES)
    assert len(streams) == 74
    assert not streams & LEFT_OUT


@pytest.mark.parametrize("stream", sorted(ENTITIES))
def test_fields_kinds_and_references_agree(stream: str) -> None:
    properties = schema(stream)["properties"]
    catalogue = {field.name: field for field in ENTITIES[stream].kinds}
    assert set(properties) == set(catalogue), stream
    for name, spec in properties.items():
        kind, target = kind_of(spec)
        assert Field(name, kind, target) == catalogue[name], f"{stream}.{name}"


@pytest.mark.parametrize("stream", sorted(ENTITIES))
def test_every_reference_names_an_endpoint_we_have(stream: str) -> None:
    for field in ENTITIES[stream].references:
        assert field.target in ENTITIES, f"{stream}.{field.name} -> {field.target}"


def test_every_incremental_stream_has_an_updated_at() -> None:
    incremental = [stream for stream in STREAM_TYPES if issubclass(stream, IncrementalStream)]
    assert len(incremental) == 22
    for stream in incremental:
        assert ENTITIES[stream.name].has_updated_at, stream.name
