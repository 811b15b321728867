"""Batch mode (`batch_config`): records go to JSONL files named by BATCH messages.

Read from the tap's real output against the emulator: per stream, the opening
ACTIVATE_VERSION, every BATCH, then the closing ACTIVATE_VERSION, in that order (a
target swaps to the version when the closing one arrives: every file must be named
by then); the files hold exactly the stream's records, each once, as RECORD
messages would carry them (field-type check, unknown fields kept, stream maps).
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pytest
from igdb_emulator import Emulator, EmulatorConfig, Fault
from tap_igdb.errors import ConfigError
from tap_igdb.tap import TapIGDB

if TYPE_CHECKING:
    from igdb_emulator.pytest_plugin import EmulatorFactory

    from conftest import EmulatorSettings, JSONObject, RunTap, TapRun

# A lookup, a large snapshot stream and an incremental one, all read from scratch.
STREAMS = ["platforms", "covers", "games"]
PER_FILE = 100


@pytest.fixture
def emu(igdb_emulator_factory: EmulatorFactory) -> Emulator:
    return igdb_emulator_factory(config=EmulatorConfig.unthrottled())


def batch_config(root: Path, compression: str = "gzip") -> JSONObject:
    return {
        "encoding": {"format": "jsonl", "compression": compression},
        "storage": {"root": root.as_uri()},
        "batch_size": PER_FILE,
    }


def kinds(run: TapRun, stream: str) -> list[str]:
    return [m["type"] for m in run.messages if m.get("stream") == stream]


def batch_records(run: TapRun, stream: str) -> list[JSONObject]:
    """Every record of every file the stream's BATCH messages name, in order."""
    records: list[JSONObject] = []
    for message in run.of_type("BATCH", stream):
        compression = message["encoding"]["compression"]
        for url in message["manifest"]:
            path = Path(urlparse(url).path)
            data = (
                gzip.decompress(path.read_bytes()) if compression == "gzip" else path.read_bytes()
            )
            records += [json.loads(line) for line in data.decode().splitlines()]
    return records


def by_id(records: list[JSONObject]) -> list[JSONObject]:
    return sorted(records, key=lambda r: r["id"])


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_batch_files_hold_every_record_inside_the_table_version(
    emu: Emulator,
    emulator_config: EmulatorSettings,
    run_tap: RunTap,
    tmp_path: Path,
    compression: str,
) -> None:
    config = emulator_config(
        emu, requests_per_second=100, batch_config=batch_config(tmp_path, compression)
    )

    run = run_tap(config, streams=STREAMS)

    assert run.of_type("RECORD") == []
    for stream in STREAMS:
        truth = emu.truth(stream)
        files = -(-len(truth) // PER_FILE)
        assert files >= 3, stream  # several files: the last one comes after the others
        # SCHEMA, the opening version, every BATCH, and only then the closing version.
        assert kinds(run, stream) == [
            "SCHEMA",
            "ACTIVATE_VERSION",
            *["BATCH"] * files,
            "ACTIVATE_VERSION",
        ]
        assert len({m["version"] for m in run.of_type("ACTIVATE_VERSION", stream)}) == 1
        for message in run.of_type("BATCH", stream):
            assert message["encoding"] == {"format": "jsonl", "compression": compression}
            (url,) = message["manifest"]
            suffix = ".jsonl.gz" if compression == "gzip" else ".jsonl"
            assert url.startswith(tmp_path.as_uri()), url
            assert url.endswith(suffix), url
        records = batch_records(run, stream)
        assert by_id(records) == truth, stream  # every record, once, unchanged
        assert len(records) == len(truth)
    assert run.bookmark("games") == max(r["updated_at"] for r in emu.truth("games"))


def test_the_closing_version_follows_the_last_batch_of_an_incremental_first_run(
    emu: Emulator, emulator_config: EmulatorSettings, run_tap: RunTap, tmp_path: Path
) -> None:
    """The state that carries the bookmark comes after the last file is named too."""
    config = emulator_config(emu, requests_per_second=100, batch_config=batch_config(tmp_path))

    run = run_tap(config, streams=["games"])

    types = [m["type"] for m in run.messages]
    last_batch = len(types) - 1 - types[::-1].index("BATCH")
    closing = len(types) - 1 - types[::-1].index("ACTIVATE_VERSION")
    assert last_batch < closing
    bookmarked = [
        i
        for i, m in enumerate(run.messages)
        if m["type"] == "STATE"
        and "replication_key_value" in m["value"]["bookmarks"].get("games", {})
    ]
    assert bookmarked
    assert bookmarked[0] > last_batch


def test_batch_files_keep_unknown_fields_and_warn_once(
    emu: Emulator,
    emulator_config: EmulatorSettings,
    run_tap: RunTap,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu.faults.add(Fault.new_field("brand_new_field", {"nested": [1, 2.5]}, endpoint="games"))
    config = emulator_config(emu, requests_per_second=100, batch_config=batch_config(tmp_path))

    with caplog.at_level(logging.WARNING):
        run = run_tap(config, streams=["games"])

    records = batch_records(run, "games")
    assert by_id(records) == emu.truth("games")
    assert all(r["brand_new_field"] == {"nested": [1, 2.5]} for r in records)
    warnings = [r for r in caplog.records if "brand_new_field" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.fault_matrix(
    fault="a field's type changes at IGDB, in batch mode",
    injected="emulator (IGDB, games: rating as a string)",
    outcome="fails loudly at the end naming the field; the other streams complete",
    check="no batch file holds a games record; games' version never closed",
)
def test_a_field_type_change_in_batch_mode_fails_the_stream_before_any_file(
    emu: Emulator, emulator_config: EmulatorSettings, run_tap: RunTap, tmp_path: Path
) -> None:
    emu.faults.add(Fault.change_type("rating", "string", endpoint="games"))
    config = emulator_config(emu, requests_per_second=100, batch_config=batch_config(tmp_path))

    run = run_tap(config, streams=["platforms", "games"], failing=True)

    assert "games (games: IGDB sent record " in str(run.failed)
    assert "with field 'rating' as string" in str(run.failed)
    assert kinds(run, "games") == ["SCHEMA", "ACTIVATE_VERSION"]  # no file, never closed
    assert by_id(batch_records(run, "platforms")) == emu.truth("platforms")
    assert kinds(run, "platforms")[-1] == "ACTIVATE_VERSION"


def test_batch_files_hold_the_records_as_stream_maps_make_them(
    emu: Emulator, emulator_config: EmulatorSettings, run_tap: RunTap, tmp_path: Path
) -> None:
    maps = {"platforms": {"title": "name", "name": "__NULL__", "__filter__": "id % 2 == 0"}}
    config = emulator_config(
        emu, requests_per_second=100, batch_config=batch_config(tmp_path), stream_maps=maps
    )

    run = run_tap(config, streams=["platforms"])

    expected = [
        {**{k: v for k, v in r.items() if k != "name"}, "title": r["name"]}
        for r in emu.truth("platforms")
        if r["id"] % 2 == 0
    ]
    assert by_id(batch_records(run, "platforms")) == expected
    (schema,) = run.of_type("SCHEMA", "platforms")
    assert "title" in schema["schema"]["properties"]


VALID = {"client_id": "abc", "client_secret": "very-secret-value"}
FILES = {"root": "file:///tmp/batches"}
JSONL = {"format": "jsonl", "compression": "gzip"}


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (
            {"encoding": {"format": "parquet", "compression": "gzip"}, "storage": FILES},
            "invalid setting batch_config.encoding.format: 'parquet' is not one of ['jsonl']",
        ),
        (
            {"encoding": {"format": "jsonl", "compression": "zstd"}, "storage": FILES},
            "invalid setting batch_config.encoding.compression: 'zstd' is not one of "
            "['gzip', 'none']",
        ),
        (
            {"encoding": {"format": "jsonl"}, "storage": FILES},
            "missing required setting batch_config.encoding.compression",
        ),
        (
            {"encoding": JSONL, "storage": {"root": "s3://bucket/batches"}},
            "invalid setting batch_config.storage.root: expected a file:// URL, got "
            "'s3://bucket/batches'",
        ),
        (
            {"encoding": JSONL, "storage": FILES, "batch_size": 0},
            "invalid setting batch_config.batch_size: 0 is less than the minimum of 1",
        ),
        (
            {"encoding": JSONL, "storage": FILES, "size": 10},
            "invalid setting batch_config: Additional properties are not allowed ('size' was "
            "unexpected)",
        ),
    ],
)
def test_a_batch_config_the_tap_cannot_write_is_one_line(batch: JSONObject, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        TapIGDB(config={**VALID, "batch_config": batch})
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_a_stream_map_copying_a_stream_cannot_be_batched(
    emu: Emulator, emulator_config: EmulatorSettings, run_tap: RunTap, tmp_path: Path
) -> None:
    """One set of files cannot be two streams' records: refused before any request."""
    config = emulator_config(
        emu,
        batch_config=batch_config(tmp_path),
        stream_maps={"platforms_copy": {"__source__": "platforms"}},
    )
    with pytest.raises(ConfigError) as raised:
        run_tap(config, streams=["platforms"])
    assert str(raised.value) == (
        "invalid settings: batch_config with stream_maps that make platforms into several "
        "streams (platforms, platforms_copy): one set of batch files cannot be both"
    )
    assert emu.request_log == []
