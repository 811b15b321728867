"""Every field of every real IGDB sample record is declared, with its real type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from igdb_emulator.samples import samples_dir
from tap_igdb.client import IGDBStream
from tap_igdb.streams import STREAM_TYPES, IncrementalStream
from tap_igdb.tap import TapIGDB

if TYPE_CHECKING:
    from conftest import JSONObject

SAMPLES = samples_dir()  # the real IGDB responses bundled with the emulator
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}


def sample_files() -> list[tuple[str, Path]]:
    files = [
        (p.name.removeprefix("igdb_").removesuffix("_mock.jsonl"), p)
        for p in SAMPLES.glob("gameboy-seeds/*.jsonl")
    ]
    files += [(p.stem, p) for p in SAMPLES.glob("rag-sample/*.json")]
    return sorted(files)


def load(path: Path) -> list[JSONObject]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    records: list[JSONObject] = json.loads(path.read_text())
    return records


@pytest.fixture(scope="module")
def schemas() -> dict[str, JSONObject]:
    tap = TapIGDB(config={"client_id": "x", "client_secret": "y"})
    return {name: stream.schema for name, stream in tap.streams.items()}


def test_there_are_samples_to_check() -> None:
    assert len(sample_files()) >= 20


@pytest.mark.parametrize(
    ("stream", "path"), sample_files(), ids=lambda v: str(getattr(v, "name", v))
)
def test_sample_records_match_the_schema(
    schemas: dict[str, JSONObject], stream: str, path: Path
) -> None:
    properties = schemas[stream]["properties"]
    for record in load(path):
        for field, value in record.items():
            assert field in properties, f"{stream}.{field} missing from the schema"
            declared = properties[field]["type"]
            declared = [declared] if isinstance(declared, str) else declared
            kind = JSON_TYPES[type(value)]
            # A JSON number written without a fraction is still a valid "number".
            assert kind in declared or (kind == "integer" and "number" in declared), (
                f"{stream}.{field}: {kind} not in {declared}"
            )
            if kind == "array":
                assert all(type(item) is int for item in value)
                assert properties[field]["items"]["type"] == "integer"


@pytest.mark.parametrize("stream_type", STREAM_TYPES, ids=lambda s: s.name)
def test_schemas_keep_unknown_fields_and_require_only_id(
    schemas: dict[str, JSONObject], stream_type: type[IGDBStream]
) -> None:
    schema = schemas[stream_type.name]
    assert schema["additionalProperties"] is True
    assert schema["required"] == ["id"]
    assert schema["properties"]["id"]["type"] == "integer"
    if "updated_at" in schema["properties"]:
        assert schema["properties"]["updated_at"]["type"] == ["integer", "null"]


def test_incremental_exactly_where_igdb_has_updated_at_and_the_table_is_not_a_lookup(
    schemas: dict[str, JSONObject], incremental_streams: set[str]
) -> None:
    lookups = {stream.name for stream in STREAM_TYPES if stream.fits_one_page}
    with_updated_at = {
        name for name, schema in schemas.items() if "updated_at" in schema["properties"]
    }
    assert incremental_streams == with_updated_at - lookups
    assert len(incremental_streams) == 22
    assert {
        "games",
        "involved_companies",
        "release_dates",
        "language_supports",
    } <= incremental_streams
    assert not {"covers", "age_ratings", "websites", "screenshots"} & incremental_streams


def test_the_readme_lists_every_stream_under_its_replication() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = {
        cells[1].strip(): {name.strip(" `") for name in cells[3].split(",")}
        for cells in (line.split("|") for line in readme.splitlines())
        if len(cells) == 5 and cells[1].strip().startswith(("INCREMENTAL", "FULL_TABLE"))
    }
    incremental = {s.name for s in STREAM_TYPES if issubclass(s, IncrementalStream)}
    lookups = {s.name for s in STREAM_TYPES if s.fits_one_page}
    assert list(rows.values()) == [
        incremental,
        {s.name for s in STREAM_TYPES} - incremental - lookups,
        lookups,
    ]
