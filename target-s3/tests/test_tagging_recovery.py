"""A target killed between listing files and tagging them `final` loses nothing.

The bucket lifecycle deletes `status=temp` objects after a day, so a listed file
left `temp` would silently disappear. The manifest records the keys a write
listed (`untagged`) and the next writer re-tags them `final` at setup.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

GAMES = "raw/games"

# A real target process that dies by SIGKILL right after its first manifest
# write, before tagging the files that write listed `final`.
KILLED_BEFORE_FINAL_TAG = """
import os, signal
from target_s3 import lake, manifest_store, storage
from target_s3.target import TargetS3

listed = False
update = manifest_store.ManifestStore.update

def update_then_arm(self, *args, **kwargs):
    global listed
    result = update(self, *args, **kwargs)
    listed = True
    return result

def tagging(set_status):
    def die_before_tagging_listed_files(self, keys, status):
        if listed and status == lake.STATUS_FINAL:
            os.kill(os.getpid(), signal.SIGKILL)
        return set_status(self, keys, status)
    return die_before_tagging_listed_files

manifest_store.ManifestStore.update = update_then_arm
storage.LocalStorage.set_status = tagging(storage.LocalStorage.set_status)
storage.S3Storage.set_status = tagging(storage.S3Storage.set_status)
TargetS3.cli()
"""


def run_killed_before_final_tag(config_path: Any, lines: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", KILLED_BEFORE_FINAL_TAG, "--config", str(config_path)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == -9, result.stderr  # it really died at that point


def listed_keys(lake: Any) -> list[str]:
    manifest = lake.manifest(GAMES)
    assert manifest is not None
    return [item["key"] for item in manifest["files"]]


def test_append_killed_before_final_tag_is_tagged_by_next_run(
    lake: Any, singer: Any, write_config: Any
) -> None:
    lines = singer.lines("games_incremental.singer")
    run_killed_before_final_tag(write_config({**lake.config, "batch_size_records": 40}), lines)
    crashed = listed_keys(lake)
    assert len(crashed) == 1  # listed, never tagged
    assert lake.manifest(GAMES)["untagged"] == crashed
    if lake.mode == "s3":
        assert lake.status(crashed[0]) == "temp"  # the data-loss window, as it was

    lake.run(lines, batch_size_records=40)

    manifest = lake.manifest(GAMES)
    assert crashed[0] in listed_keys(lake)
    assert crashed[0] not in manifest["untagged"]  # re-tagged, then cleared
    if lake.mode == "s3":
        assert {key: lake.status(key) for key in listed_keys(lake)} == dict.fromkeys(
            listed_keys(lake), "final"
        )


def test_version_swap_killed_before_final_tag_is_tagged_by_next_run(
    lake: Any, singer: Any, write_config: Any
) -> None:
    lake.run(singer.lines("games_incremental.singer"))
    full = singer.lines("games_full_refresh.singer", version=2_000_000_000_000)
    run_killed_before_final_tag(write_config({**lake.config, "batch_size_records": 30}), full)
    swapped = listed_keys(lake)
    assert len(swapped) == 4
    assert lake.manifest(GAMES)["untagged"] == swapped
    if lake.mode == "s3":
        assert {lake.status(key) for key in swapped} == {"temp"}

    lake.run(singer.lines("games_incremental.singer")[:1])  # a run that only sets up the sink

    assert listed_keys(lake) == swapped
    if lake.mode == "s3":
        assert {lake.status(key) for key in swapped} == {"final"}
    # Nothing was written, so the list is cleared only by the next write...
    lake.run(singer.lines("games_incremental.singer")[:5])
    manifest = lake.manifest(GAMES)
    assert not set(swapped) & set(manifest["untagged"])  # ...which lists only its own file
    assert manifest["untagged"] == listed_keys(lake)[-1:]


def test_clean_runs_keep_only_the_last_write_untagged(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("games_incremental.singer"), batch_size_records=40)

    manifest = lake.manifest(GAMES)
    keys = listed_keys(lake)
    assert len(keys) == 3
    # Each write clears the keys this run already tagged: the list stays short.
    assert manifest["untagged"] == keys[-1:]
    if lake.mode == "s3":
        assert {lake.status(key) for key in keys} == {"final"}


def test_listed_file_expired_before_recovery_is_reported(
    s3_lake: Any, singer: Any, write_config: Any, caplog: Any
) -> None:
    lines = singer.lines("games_incremental.singer")
    run_killed_before_final_tag(write_config({**s3_lake.config, "batch_size_records": 40}), lines)
    [crashed] = listed_keys(s3_lake)
    s3_lake.client.delete_object(Bucket=s3_lake.bucket, Key=crashed)  # the lifecycle won

    s3_lake.run(lines[:1])

    errors = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert any(crashed in message and "full refresh" in message for message in errors), errors
