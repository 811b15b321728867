"""Crashes, concurrent writers and bad settings, with real target processes."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from typing import Any

import pytest
from target_s3.lake import Manifest, ManifestFile
from target_s3.lake_lock import LakeLockLostError
from target_s3.manifest_store import ManifestStore
from target_s3.storage import LocalStorage
from target_s3.target import TargetS3

GAMES = "raw/games"
LOCK = "raw/_lock.json"


def run_cli(singer: Any, config_path: Any, lines: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [singer.target_bin, "--config", str(config_path)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_kill_9_mid_batch_then_rerun(lake: Any, singer: Any, write_config: Any) -> None:
    lines = singer.lines("games_incremental.singer")
    config = write_config({**lake.config, "batch_size_records": 10})
    target = singer.start_target(config, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert target.stdin is not None
    assert target.stdout is not None
    target.stdin.write("\n".join(lines[:60]) + "\n")  # 57 records, 2 states: 5 files
    target.stdin.flush()
    emitted = [json.loads(target.stdout.readline())]  # a state after a drained batch
    target.stdin.write("\n".join(lines[60:66]) + "\n")  # half a batch, never finished
    target.stdin.flush()
    os.kill(target.pid, signal.SIGKILL)
    target.wait(timeout=30)
    remaining = target.stdout.read()
    emitted += [json.loads(line) for line in remaining.splitlines() if line.strip()]

    manifest = lake.manifest(GAMES)
    assert manifest is not None
    for item in manifest["files"]:  # no listed file is partial
        rows = [json.loads(line) for line in lake.lines(item["key"])]
        assert len(rows) == item["records"]
    listed = {record["id"] for record in lake.records(GAMES)}
    last_state = emitted[-1]
    upto = next(
        index
        for index, line in enumerate(lines)
        if json.loads(line)["type"] == "STATE" and json.loads(line)["value"] == last_state
    )
    covered = {json.loads(line)["record"]["id"] for line in lines[:upto] if '"RECORD"' in line}
    assert covered <= listed  # the state we emitted never runs ahead of the manifest
    assert json.loads(lake.read_bytes(LOCK))["pid"] == target.pid  # the dead writer's lease

    lake.run(lines, batch_size_records=10)  # the rerun takes it over at once (same machine)

    after = lake.manifest(GAMES)
    keys = [item["key"] for item in after["files"]]
    assert len(keys) == len(set(keys))
    counts = Counter(record["id"] for record in lake.records(GAMES))
    assert set(counts) == {json.loads(line)["record"]["id"] for line in lines if '"RECORD"' in line}
    assert max(counts.values()) <= 2  # re-sent records only: staging dedupes by id


def test_two_concurrent_writers_take_turns_and_lose_no_manifest_entry(
    lake: Any, singer: Any, write_config: Any
) -> None:
    config = write_config({**lake.config, "batch_size_records": 5, "lock_wait_seconds": 120})
    lines = "\n".join(singer.lines("games_incremental.singer")) + "\n"
    writers = [
        singer.start_target(config, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write(lines)
        writer.stdin.close()
    for writer in writers:
        assert writer.wait(timeout=120) == 0, writer.stderr.read() if writer.stderr else ""
        if writer.stderr:
            writer.stderr.close()

    manifest = lake.manifest(GAMES)
    assert manifest is not None
    assert len(manifest["files"]) == 40  # 20 files from each writer
    assert manifest["generation"] == 40
    assert len({item["key"] for item in manifest["files"]}) == 40
    assert LOCK not in lake.keys("raw")


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line or "error" in line]
    assert errors, result.stderr
    return errors[0]


def test_missing_bucket_fails_at_start(s3_lake: Any, singer: Any, write_config: Any) -> None:
    config = write_config({**s3_lake.config, "bucket": "no-such-bucket-here"})
    result = run_cli(singer, config, singer.lines("games_incremental.singer"))
    line = _one_error_line(result)
    assert "bucket 'no-such-bucket-here' does not exist" in line


def test_bad_credentials_fail_at_start(s3_lake: Any, singer: Any, write_config: Any) -> None:
    config = write_config({**s3_lake.config, "aws_secret_access_key": "wrong-secret-123"})
    result = run_cli(singer, config, singer.lines("games_incremental.singer"))
    line = _one_error_line(result)
    assert s3_lake.bucket in line
    assert "credentials" in line
    assert "wrong-secret-123" not in result.stderr + result.stdout


def test_read_only_identity_fails_at_start(
    s3_lake: Any, seaweedfs: Any, singer: Any, write_config: Any
) -> None:
    config = write_config(
        {
            **s3_lake.config,
            "aws_access_key_id": seaweedfs.read_only.access_key,
            "aws_secret_access_key": seaweedfs.read_only.secret_key,
        }
    )
    result = run_cli(singer, config, singer.lines("games_incremental.singer"))
    line = _one_error_line(result)
    assert "access denied" in line
    assert "PutObject" in line
    assert s3_lake.keys() == []


def test_validate_records_rejects_a_record_against_its_schema(
    local_lake: Any, singer: Any, write_config: Any
) -> None:
    """The fast record path keeps the SDK's validator when `validate_records` is on."""
    lines = singer.lines("games_incremental.singer")
    bad = json.loads(lines[1])
    bad["record"]["first_release_date"] = "soon"  # the schema says integer
    bad_lines = [lines[0], json.dumps(bad), *lines[2:]]

    config = write_config({**local_lake.config, "validate_records": True})
    result = run_cli(singer, config, bad_lines)
    line = _one_error_line(result)
    assert "stream 'games'" in line
    assert "first_release_date" in line
    assert local_lake.manifest(GAMES) is None  # nothing listed
    assert local_lake.keys() == []  # the lease released on failure, no lock file left

    config = write_config({**local_lake.config, "validate_records": False})
    assert run_cli(singer, config, bad_lines).returncode == 0  # off: kept as the tap sent it
    assert {record["id"]: record for record in local_lake.records(GAMES)}[bad["record"]["id"]][
        "first_release_date"
    ] == "soon"


def test_each_writer_probes_the_lake_with_its_own_key(tmp_path: Any, monkeypatch: Any) -> None:
    """Two targets starting together must not delete each other's write probe."""
    probed: list[str] = []
    monkeypatch.setattr(LocalStorage, "check", lambda self, key: probed.append(key))
    config = {"local_path": str(tmp_path / "lake")}

    TargetS3(config=config)
    TargetS3(config=config)

    assert len(probed) == 2
    assert probed[0] != probed[1]
    assert all(key.startswith("raw/") for key in probed)


def test_a_second_target_on_a_locked_lake_fails_at_once_with_one_line(
    lake: Any, singer: Any, write_config: Any
) -> None:
    config = write_config(lake.config)
    lines = singer.lines("games_incremental.singer")
    holder = singer.start_target(config, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert holder.stdin is not None
    holder.stdin.write(lines[0] + "\n")  # its first SCHEMA: the target takes the lake
    holder.stdin.flush()
    deadline = time.monotonic() + 60
    while LOCK not in lake.keys("raw"):
        assert holder.poll() is None, holder.stderr.read() if holder.stderr else ""
        assert time.monotonic() < deadline, "the first target never took the lake lock"
        time.sleep(0.05)  # polling for the lease; the deadline bounds the wait
    lease = json.loads(lake.read_bytes(LOCK))

    started = time.monotonic()
    refused = run_cli(singer, config, lines)

    assert time.monotonic() - started < 30
    line = _one_error_line(refused)
    assert len([row for row in refused.stderr.splitlines() if "ERROR" in row]) == 1
    assert "lake lock" in line
    assert lease["owner"] in line
    assert f"pid {holder.pid}" in line
    assert lake.manifest(GAMES) is None  # the refused target wrote nothing
    holder.stdin.write("\n".join(lines[1:]) + "\n")
    holder.stdin.close()
    assert holder.wait(timeout=120) == 0
    if holder.stderr:
        holder.stderr.close()
    assert len(lake.records(GAMES)) == sum('"RECORD"' in line for line in lines)
    assert LOCK not in lake.keys("raw")


def test_the_lease_a_target_takes_lasts_lock_ttl_seconds(
    lake: Any, singer: Any, write_config: Any
) -> None:
    config = write_config({**lake.config, "lock_ttl_seconds": 123})
    target = singer.start_target(config, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert target.stdin is not None
    target.stdin.write(singer.lines("games_incremental.singer")[0] + "\n")
    target.stdin.flush()
    deadline = time.monotonic() + 60
    while LOCK not in lake.keys("raw"):
        assert time.monotonic() < deadline, "the target never took the lake lock"
        time.sleep(0.05)  # polling for the lease; the deadline bounds the wait
    lease = json.loads(lake.read_bytes(LOCK))
    target.stdin.close()
    assert target.wait(timeout=60) == 0

    lifetime = dt.datetime.fromisoformat(lease["expires_at"]) - dt.datetime.fromisoformat(
        lease["acquired_at"]
    )
    assert lifetime == dt.timedelta(seconds=123)


def test_a_target_that_lost_the_lake_lock_lists_nothing_more(
    lake: Any, singer: Any, monkeypatch: Any
) -> None:
    update = ManifestStore.update
    storage = lake.storage()

    def update_then_lose_the_lock(self: ManifestStore, *args: Any, **kwargs: Any) -> Any:
        result = update(self, *args, **kwargs)
        current = storage.read(LOCK)
        taken = dict(json.loads(current.body), owner="another-writer")  # as after an expiry
        storage.write_if(LOCK, json.dumps(taken).encode(), current.token)
        return result

    monkeypatch.setattr(ManifestStore, "update", update_then_lose_the_lock)

    with pytest.raises(LakeLockLostError, match="another-writer"):
        lake.run(singer.lines("games_incremental.singer"), batch_size_records=5)

    manifest = lake.manifest(GAMES)
    assert manifest is not None
    assert len(manifest["files"]) == 1  # listed before the loss; nothing after it
    assert json.loads(lake.read_bytes(LOCK))["owner"] == "another-writer"  # left alone


def test_a_write_denied_mid_run_is_one_line_naming_the_key(
    s3_lake: Any, singer: Any, write_config: Any
) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{s3_lake.bucket}/{GAMES}/*",
            }
        ],
    }
    s3_lake.client.put_bucket_policy(Bucket=s3_lake.bucket, Policy=json.dumps(policy))
    config = write_config(s3_lake.config)

    result = run_cli(singer, config, singer.lines("games_incremental.singer"))

    line = _one_error_line(result)
    assert "AccessDenied" in line
    assert f"s3://{s3_lake.bucket}/{GAMES}/" in line
    assert "PutObject" in line
    assert result.stdout == ""  # no state
    assert s3_lake.manifest(GAMES) is None
    assert LOCK not in s3_lake.keys("raw")


def test_concurrent_manifest_updates_lose_no_entry(lake: Any) -> None:
    """The manifest's compare-and-swap: the defence behind the lake lock (a lost lease)."""
    key = f"{GAMES}/_manifest.json"

    def append_files(writer: int) -> None:
        store = ManifestStore(lake.storage(), lambda: "2026-05-01T20:00:00Z")
        for index in range(20):
            listed = ManifestFile(f"{GAMES}/batch-{writer}-{index}", 1, 1, None, "", 1)

            def append(manifest: Manifest, item: ManifestFile = listed) -> bool:
                manifest.files.append(item)
                return True

            store.update(key, "games", "incremental", append)

    writers = [threading.Thread(target=append_files, args=(writer,)) for writer in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)

    manifest = lake.manifest(GAMES)
    assert manifest is not None
    assert len({item["key"] for item in manifest["files"]}) == 40
    assert manifest["generation"] == 40


def test_sigterm_releases_the_lake_lock(lake: Any, singer: Any, write_config: Any) -> None:
    """Meltano stops a plugin with SIGTERM on timeout or cancel; the SDK then drains
    the sinks and exits, and the lease goes too."""
    target = singer.start_target(
        write_config(lake.config), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert target.stdin is not None
    target.stdin.write(singer.lines("games_incremental.singer")[0] + "\n")
    target.stdin.flush()
    deadline = time.monotonic() + 60
    while LOCK not in lake.keys("raw"):
        assert time.monotonic() < deadline, "the target never took the lake lock"
        time.sleep(0.05)  # polling for the lease; the deadline bounds the wait

    target.terminate()

    target.wait(timeout=60)
    stderr = target.stderr.read() if target.stderr else ""
    assert "Traceback" not in stderr
    assert LOCK not in lake.keys("raw")
    target.stdin.close()
