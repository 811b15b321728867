"""BATCH messages: their records take exactly the path RECORD messages take.

The recorded inputs (tests/resources/games_batch_*.singer) name 1,200 games in
three files under tests/resources/batches/, gzipped and plain, as the SDK's
batcher writes them: raw JSON records, one per line.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import subprocess
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

GAMES = "raw/games"
VERSION = 2_000_000_000_000  # newer than the version an earlier run starts itself
METADATA = ("_sdc_extracted_at", "_sdc_table_version")


def run_cli(singer: Any, config_path: Path, lines: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [singer.target_bin, "--config", str(config_path)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def without_metadata(record: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in record.items() if name not in METADATA}


def assert_listed_as_sent(lake: Any, singer: Any, stream_key: str = GAMES) -> list[dict[str, Any]]:
    """Every batch record listed once, as the file holds it, stamped like a RECORD line."""
    manifest = lake.manifest(stream_key)
    assert manifest is not None
    listed: list[dict[str, Any]] = lake.records(stream_key)
    assert [without_metadata(record) for record in listed] == singer.batch_records()
    for record in listed:
        assert record["_sdc_table_version"] == manifest["table_version"]
        extracted = dt.datetime.fromisoformat(record["_sdc_extracted_at"])
        assert extracted.utcoffset() == dt.timedelta(0)
        assert abs(dt.datetime.now(tz=dt.UTC) - extracted) < dt.timedelta(minutes=10)
    return listed


def test_a_batch_of_gzip_files_lands_and_its_state_comes_after_the_listing(
    lake: Any, singer: Any, write_config: Any
) -> None:
    lines = singer.lines("games_batch_gzip.singer")
    config = write_config({**lake.config, "batch_size_records": 500})
    target = singer.start_target(config, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert target.stdin is not None
    assert target.stdout is not None
    target.stdin.write("\n".join(lines) + "\n")
    target.stdin.close()

    state = json.loads(target.stdout.readline())  # blocks until the target emits it
    listed_when_emitted = lake.manifest(GAMES)
    assert target.wait(timeout=120) == 0

    assert state == json.loads(lines[-1])["value"]
    assert listed_when_emitted is not None
    assert [item["records"] for item in listed_when_emitted["files"]] == [500, 500, 200]
    assert_listed_as_sent(lake, singer)
    for item in listed_when_emitted["files"]:
        assert item["key"].startswith(f"{GAMES}/dt=")  # the stream's own layout
        assert lake.status(item["key"]) in {"final", None}


def test_a_batch_of_plain_jsonl_files_lands_like_records(lake: Any, singer: Any) -> None:
    lines = singer.lines("games_batch_jsonl.singer")

    emitted = lake.run(lines)

    assert emitted == [json.loads(lines[-1])["value"]]
    assert_listed_as_sent(lake, singer)


def test_records_and_batches_share_the_stream_s_batch_files(local_lake: Any, singer: Any) -> None:
    records = singer.lines("games_incremental.singer")
    batch = singer.lines("games_batch_jsonl.singer")

    local_lake.run([*records, *batch[1:]])  # the batch input's SCHEMA would start a new sink

    manifest = local_lake.manifest(GAMES)
    assert manifest is not None
    assert [item["records"] for item in manifest["files"]] == [1_300]  # one file of both
    listed = [without_metadata(record) for record in local_lake.records(GAMES)]
    assert listed[100:] == singer.batch_records()


def test_a_batch_manifest_of_s3_urls_is_read_with_the_target_s_s3_settings(
    s3_lake: Any, singer: Any
) -> None:
    for path in sorted(singer.batches.glob("*.jsonl.gz")):
        s3_lake.client.put_object(
            Bucket=s3_lake.bucket, Key=f"tap-batches/{path.name}", Body=path.read_bytes()
        )
    lines = singer.lines("games_batch_gzip.singer", batch_root=f"s3://{s3_lake.bucket}/tap-batches")

    emitted = s3_lake.run(lines)

    assert emitted == [json.loads(lines[-1])["value"]]
    assert_listed_as_sent(s3_lake, singer)


@pytest.mark.parametrize(
    ("encoding", "named"),
    [
        ({"format": "parquet", "compression": "none"}, "format 'parquet'"),
        ({"format": "jsonl", "compression": "zstd"}, "compression 'zstd'"),
    ],
    ids=["parquet", "zstd"],
)
@pytest.mark.fault_matrix(
    fault="a BATCH message in an encoding target-s3 cannot read ({id})",
    injected="recorded Singer input (BATCH message)",
    outcome="fails loudly at once: one line naming the stream and the format",
    check="no STATE emitted, nothing listed, lock released",
)
def test_an_encoding_it_cannot_read_fails_at_once_in_one_line(
    local_lake: Any, singer: Any, write_config: Any, encoding: dict[str, str], named: str
) -> None:
    lines = singer.lines("games_batch_parquet.singer")
    batch = json.loads(lines[1])
    batch["encoding"] = encoding
    lines[1] = json.dumps(batch)

    result = run_cli(singer, write_config(local_lake.config), lines)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, result.stderr
    assert "stream 'games'" in errors[0]
    assert named in errors[0]
    assert result.stdout == ""  # no state moved
    assert local_lake.manifest(GAMES) is None
    assert local_lake.keys() == []  # nothing stored, the lease released


@pytest.mark.fault_matrix(
    fault="a BATCH message names a file that does not exist",
    injected="recorded Singer input (BATCH manifest URL)",
    outcome="fails loudly: one line naming the stream and the URL",
    check="no STATE emitted, nothing listed",
)
def test_a_missing_batch_file_is_one_line_naming_its_url(
    local_lake: Any, singer: Any, write_config: Any, tmp_path: Path
) -> None:
    lines = singer.lines("games_batch_gzip.singer", batch_root=(tmp_path / "gone").as_uri())

    result = run_cli(singer, write_config(local_lake.config), lines)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, result.stderr
    assert "stream 'games'" in errors[0]
    assert (tmp_path / "gone" / "games-1.jsonl.gz").as_uri() in errors[0]
    assert result.stdout == ""
    assert local_lake.manifest(GAMES) is None


def test_a_batch_inside_an_open_version_stays_unlisted_until_the_version_completes(
    lake: Any, singer: Any
) -> None:
    lake.run(singer.lines("games_incremental.singer"))
    before = lake.manifest(GAMES)
    assert before is not None
    lines = singer.lines("games_batch_in_version.singer", version=VERSION)
    closing = len(lines) - 2  # the second ACTIVATE_VERSION
    assert json.loads(lines[closing])["type"] == "ACTIVATE_VERSION"
    seen_open: list[bool] = []

    def feed() -> Iterator[str]:
        for index, line in enumerate(lines):
            if index == closing:  # everything before it has been processed
                assert lake.manifest(GAMES) == before
                stored = [key for key in lake.keys(GAMES) if "/batch-" in key]
                unlisted = set(stored) - {item["key"] for item in before["files"]}
                assert len(unlisted) == 2  # two full files of 500; 200 records still buffered
                assert all(lake.status(key) in {"temp", None} for key in unlisted)
                seen_open.append(True)
            yield line

    emitted = lake.run(feed(), batch_size_records=500)

    assert seen_open == [True]
    after = lake.manifest(GAMES)
    assert after is not None
    assert after["table_version"] == VERSION
    assert [item["records"] for item in after["files"]] == [500, 500, 200]
    assert_listed_as_sent(lake, singer)
    assert emitted[-1] == json.loads(lines[-1])["value"]  # released once swapped in


def test_batch_files_are_read_line_by_line_not_whole(
    local_lake: Any, singer: Any, tmp_path: Path
) -> None:
    """A 20 MB batch file goes through the target in far less memory than its size."""
    game = singer.batch_records()[0]
    big = tmp_path / "big.jsonl.gz"
    lines_in_file = 20_000_000 // len(json.dumps(game))
    with gzip.open(big, "wt", encoding="utf-8", compresslevel=1) as out:
        out.writelines(json.dumps({**game, "id": n}) + "\n" for n in range(lines_in_file))
    lines = singer.lines("games_batch_gzip.singer")
    message = json.loads(lines[1])
    message["manifest"] = [big.as_uri()]

    tracemalloc.start()
    try:
        local_lake.run([lines[0], json.dumps(message)], batch_size_bytes=4_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    manifest = local_lake.manifest(GAMES)
    assert manifest is not None
    assert sum(item["records"] for item in manifest["files"]) == lines_in_file
    assert peak < 10_000_000, f"peak {peak / 1e6:.1f} MB of Python memory for a 20 MB file"
