"""Layout, manifest, fidelity and tags, on local disk and on a real S3 server."""

from __future__ import annotations

import json
import re
from typing import Any

import duckdb
import pytest

GAMES = "raw/games"
GENRES = "raw/dimensions/genres"
BATCH_NAME = re.compile(r"batch-\d{8}T\d{6}Z-[0-9a-f-]{36}\.jsonl(\.gz)?$")


def test_incremental_layout_and_manifest(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("games_incremental.singer"), batch_size_records=40)

    manifest = lake.manifest(GAMES)
    assert manifest is not None
    assert manifest["manifest_version"] == 1
    assert manifest["stream"] == "games"
    assert manifest["layout"] == "incremental"
    assert [item["records"] for item in manifest["files"]] == [40, 40, 20]
    for item in manifest["files"]:
        assert item["key"].startswith(f"{GAMES}/{item['partition']}/")
        assert re.fullmatch(r"dt=\d{4}-\d{2}-\d{2}", item["partition"])
        assert BATCH_NAME.search(item["key"])
        assert item["bytes"] == len(lake.read_bytes(item["key"]))
        assert item["table_version"] == manifest["table_version"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", item["loaded_at"])
        assert lake.status(item["key"]) in {"final", None}
    assert manifest["generation"] == 3  # one write per listed file


def test_records_round_trip_as_igdb_sent_them(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("games_incremental.singer"))

    written = {record["id"]: record for record in lake.records(GAMES)}
    originals = singer.seed_records("igdb_games_mock.jsonl")
    assert len(written) == len(originals) == 100
    for original in originals:
        line = written[original["id"]]
        assert line.pop("_sdc_extracted_at") == "2026-11-26T06:00:00.000000+00:00"
        assert isinstance(line.pop("_sdc_table_version"), int)
        assert line == original  # storyline is not in the schema and still kept
        for name, value in original.items():
            assert type(line[name]) is type(value), name  # 72.0 stays a float, ids ints


def test_float_spelling_and_unicode_survive_in_the_file(local_lake: Any, singer: Any) -> None:
    local_lake.run(singer.lines("games_incremental.singer"), compression="none")

    manifest = local_lake.manifest(GAMES)
    assert manifest is not None
    text = "\n".join(local_lake.lines(manifest["files"][0]["key"]))
    assert '"aggregated_rating":72.5' in text
    raw = (singer.seeds / "igdb_games_mock.jsonl").read_text(encoding="utf-8")
    non_ascii = {char for char in raw if ord(char) > 127}
    assert non_ascii
    assert non_ascii <= set(text)  # written as UTF-8, not \u escapes


def test_gzip_is_the_default_and_none_writes_plain_jsonl(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("games_incremental.singer"))
    gz_manifest = lake.manifest(GAMES)
    assert gz_manifest is not None
    gz_key = gz_manifest["files"][0]["key"]
    assert gz_key.endswith(".jsonl.gz")
    assert lake.read_bytes(gz_key)[:2] == b"\x1f\x8b"

    lake.run(singer.lines("genres_snapshot.singer", version=5), compression="none")
    plain = lake.manifest(GENRES)
    assert plain is not None
    key = plain["files"][0]["key"]
    assert key.endswith(".jsonl")
    assert json.loads(lake.read_bytes(key).splitlines()[0])["id"] == 2


def test_batches_split_by_bytes(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("games_incremental.singer"), batch_size_bytes=20_000)

    manifest = lake.manifest(GAMES)
    assert manifest is not None
    assert len(manifest["files"]) > 3
    assert sum(item["records"] for item in manifest["files"]) == 100
    for item in manifest["files"]:
        lines = lake.lines(item["key"])
        assert len(lines) == item["records"]
        # A file closes on the first record that reaches the cap.
        assert sum(len(line.encode()) + 1 for line in lines[:-1]) < 20_000


def test_incremental_runs_append(lake: Any, singer: Any) -> None:
    lines = singer.lines("games_incremental.singer")
    first = lake.run(lines)
    second = lake.run(lines)

    manifest = lake.manifest(GAMES)
    assert manifest is not None
    assert len(manifest["files"]) == 2
    assert manifest["generation"] == 2
    assert len({item["table_version"] for item in manifest["files"]}) == 1
    last_state = [json.loads(line)["value"] for line in lines if '"STATE"' in line][-1]
    assert first[-1] == second[-1] == last_state


def test_snapshot_replaces_its_files_each_version(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("genres_snapshot.singer", version=100))
    first = lake.manifest(GENRES)
    lake.run(singer.lines("genres_snapshot.singer", version=200))
    second = lake.manifest(GENRES)

    assert first is not None
    assert second is not None
    assert first["layout"] == second["layout"] == "snapshot"
    assert first["table_version"] == 100
    assert second["table_version"] == 200
    assert [item["partition"] for item in second["files"]] == [None]
    assert second["files"][0]["key"].startswith(f"{GENRES}/batch-")
    assert {item["key"] for item in first["files"]}.isdisjoint(
        item["key"] for item in second["files"]
    )
    assert len(lake.records(GENRES)) == 23
    assert {record["_sdc_table_version"] for record in lake.records(GENRES)} == {200}
    old_key = first["files"][0]["key"]
    assert old_key in lake.keys(GENRES)  # kept for the lifecycle rule to expire
    assert lake.status(old_key) in {"outdated", None}
    assert lake.status(second["files"][0]["key"]) in {"final", None}


def test_duckdb_reads_the_gzipped_files_natively(local_lake: Any, singer: Any) -> None:
    local_lake.run(singer.lines("games_incremental.singer"), batch_size_records=40)

    manifest = local_lake.manifest(GAMES)
    assert manifest is not None
    paths = [str(local_lake.root / item["key"]) for item in manifest["files"]]
    assert all(path.endswith(".jsonl.gz") for path in paths)
    rows = duckdb.sql(
        "select count(*), count(distinct id), sum(aggregated_rating) "
        f"from read_json_auto({paths!r}, format='newline_delimited')"
    ).fetchone()
    originals = singer.seed_records("igdb_games_mock.jsonl")
    assert rows is not None
    assert rows[:2] == (100, 100)
    assert rows[2] == pytest.approx(sum(game.get("aggregated_rating", 0) for game in originals))


def test_the_prefix_is_the_top_level_folder_of_every_key(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("games_incremental.singer"), prefix="/lake/raw/")

    manifest = lake.manifest("lake/raw/games")
    assert manifest is not None
    assert all(item["key"].startswith("lake/raw/games/dt=") for item in manifest["files"])
    assert lake.keys() == lake.keys("lake/raw/")
