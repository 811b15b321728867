"""No listed file is ever `temp`, the only tag a lifecycle rule expires.

A file is tagged `final` before the manifest write that lists it, so a target
killed at any moment leaves listed files `final` and at worst an unlisted one,
`temp` or `final`, which the vacuum deletes once older than the grace. Earlier
versions listed first and tagged second, recording the keys of each write
under `untagged`; a manifest such a target left is still repaired: the next
writer of the stream re-tags those keys `final` at setup.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

GAMES = "raw/games"
MANIFEST = f"{GAMES}/_manifest.json"

# A real target process that dies by SIGKILL right after its first manifest
# write: whatever that write listed must already be tagged `final`.
KILLED_AFTER_FIRST_LISTING = """
import os, signal
from target_s3 import manifest_store
from target_s3.target import TargetS3

update = manifest_store.ManifestStore.update

def update_then_die(self, *args, **kwargs):
    update(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

manifest_store.ManifestStore.update = update_then_die
TargetS3.cli()
"""


def run_killed_after_first_listing(config_path: Any, lines: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_FIRST_LISTING, "--config", str(config_path)],
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


@pytest.mark.fault_matrix(
    fault="target-s3 killed right after a manifest write listed a file",
    injected="SIGKILL of a real target process after its first manifest write",
    outcome="survived: the listed file is already tagged final; nothing listed is temp",
    check="tags of every listed file; manifest `untagged` stays empty",
)
def test_a_target_killed_right_after_listing_leaves_its_file_final(
    lake: Any, singer: Any, write_config: Any
) -> None:
    lines = singer.lines("games_incremental.singer")

    run_killed_after_first_listing(write_config({**lake.config, "batch_size_records": 40}), lines)

    crashed = listed_keys(lake)
    assert len(crashed) == 1
    assert lake.manifest(GAMES)["untagged"] == []
    assert lake.status(crashed[0]) in {"final", None}


def test_a_version_swap_killed_right_after_its_write_leaves_its_files_final(
    lake: Any, singer: Any, write_config: Any
) -> None:
    lake.run(singer.lines("games_incremental.singer"))
    full = singer.lines("games_full_refresh.singer", version=2_000_000_000_000)

    run_killed_after_first_listing(write_config({**lake.config, "batch_size_records": 30}), full)

    swapped = listed_keys(lake)
    assert len(swapped) == 4
    assert {lake.status(key) for key in swapped} <= {"final", None}


def make_old_style_manifest(lake: Any) -> list[str]:
    """A manifest an earlier target left by dying between listing and tagging."""
    manifest = lake.manifest(GAMES)
    manifest["untagged"] = [item["key"] for item in manifest["files"]]
    lake.storage().write(MANIFEST, json.dumps(manifest).encode())
    if lake.mode == "s3":
        for key in manifest["untagged"]:
            lake.client.put_object_tagging(
                Bucket=lake.bucket,
                Key=key,
                Tagging={"TagSet": [{"Key": "status", "Value": "temp"}]},
            )
    return list(manifest["untagged"])


def test_listed_temp_files_an_older_target_left_are_tagged_final_by_the_next_run(
    lake: Any, singer: Any
) -> None:
    lake.run(singer.lines("games_incremental.singer"), batch_size_records=40)
    stuck = make_old_style_manifest(lake)

    lake.run(singer.lines("games_incremental.singer")[:1])  # a run that only sets up the sink

    assert listed_keys(lake) == stuck
    assert {lake.status(key) for key in stuck} <= {"final", None}
    # Nothing was written, so the list is cleared only by the next write...
    lake.run(singer.lines("games_incremental.singer")[:5])
    assert lake.manifest(GAMES)["untagged"] == []  # ...which adds nothing to it


def test_clean_runs_leave_nothing_untagged(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("games_incremental.singer"), batch_size_records=40)
    lake.run(singer.lines("games_full_refresh.singer", version=2_000_000_000_000))

    manifest = lake.manifest(GAMES)
    assert manifest["untagged"] == []
    assert {lake.status(key) for key in listed_keys(lake)} <= {"final", None}


def test_a_listed_file_expired_before_the_repair_is_reported(
    s3_lake: Any, singer: Any, caplog: Any
) -> None:
    s3_lake.run(singer.lines("games_incremental.singer"), batch_size_records=40)
    stuck = make_old_style_manifest(s3_lake)
    s3_lake.client.delete_object(Bucket=s3_lake.bucket, Key=stuck[0])  # the old rule won

    s3_lake.run(singer.lines("games_incremental.singer")[:1])

    errors = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert any(stuck[0] in message and "full refresh" in message for message in errors), errors
