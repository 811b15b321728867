"""The tap's BATCH mode through Meltano: the same raw layer and dim_games as RECORD mode.

With `batch_config` set, tap-igdb writes each stream's records to JSONL batch files
and sends BATCH messages; target-s3 reads them into the path RECORD messages take.
A first run, a daily run and a full refresh give dim_games equal to the source, as
without batch mode, and every record reached the lake through a batch file.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from tests.e2e.conftest import MAIN_JOB, Pipeline
from tests.support.dim_games import assert_rows_equal, expected_dim_games
from tests.support.lake import DEFAULT_STREAMS
from tests.support.lake import manifest as lake_manifest


def truth(pipeline: Pipeline) -> dict[int, dict[str, object]]:
    return expected_dim_games({s: pipeline.emulator.truth(s) for s in DEFAULT_STREAMS})


def batch_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.jsonl.gz"))


def test_batch_mode_gives_the_same_marts_on_a_first_run_a_day_and_a_full_refresh(
    dev_pipeline: Pipeline,
) -> None:
    root = dev_pipeline.workdir / "batches"
    config = {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": root.as_uri(), "prefix": "igdb-"},
    }
    batch = {"TAP_IGDB_BATCH_CONFIG": json.dumps(config)}
    emulator = dev_pipeline.emulator

    dev_pipeline.meltano(*MAIN_JOB, env=batch)
    day_one_files = batch_files(root)
    # Every record landed came through a batch file, none as a RECORD message.
    batched = sum(len(gzip.decompress(path.read_bytes()).splitlines()) for path in day_one_files)
    landed = sum(
        item["records"]
        for stream in DEFAULT_STREAMS
        for item in (lake_manifest(dev_pipeline.lake, stream) or {"files": []})["files"]
    )
    assert batched == landed > 0
    assert_rows_equal(dev_pipeline.dim_games(), truth(dev_pipeline))

    emulator.advance_day(changed=30, added=10, deleted=0, endpoint="games")
    dev_pipeline.meltano(*MAIN_JOB, env=batch)
    assert len(batch_files(root)) > len(day_one_files)
    assert_rows_equal(dev_pipeline.dim_games(), truth(dev_pipeline))

    deleted = emulator.advance_day(changed=5, added=3, deleted=8, endpoint="games").deleted
    dev_pipeline.meltano("run", "--full-refresh", *MAIN_JOB[1:], env=batch)
    games = dev_pipeline.dim_games()
    assert not set(deleted) & set(games)
    assert_rows_equal(games, truth(dev_pipeline))
