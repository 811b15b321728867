"""The grace and the vacuum, on local disk and on a real S3 server.

A file that leaves its table (a version swap) stays readable for the grace
(`grace_days`, 7) from that moment: the manifest keeps it under `removed` with
the time of removal, and the vacuum deletes it once the grace has passed. The
vacuum also deletes unlisted leftovers of crashed runs older than the grace,
never a listed file, and only while it holds the lake lock.

The S3 API cannot backdate an object, so the tests give the vacuum its notion
of now; where a test needs time to have passed since a removal, it backdates
the manifest's `removed_at` instead, which the vacuum reads.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from target_s3.lake_lock import LakeLock, LakeLockedError
from target_s3.lifecycle import main as store_lifecycle_rules
from target_s3.storage import Storage
from typing_extensions import override

GAMES = "raw/games"
MANIFEST = f"{GAMES}/_manifest.json"
LOCK = "raw/_lock.json"
NEWER = 2_000_000_000_000
DAY = dt.timedelta(days=1)
VACUUM_BIN = str(Path(sys.executable).with_name("target-s3-vacuum"))


def utc_now() -> dt.datetime:
    return dt.datetime.now(tz=dt.UTC)


def listed(lake: Any) -> list[str]:
    manifest = lake.manifest(GAMES)
    assert manifest is not None
    return [item["key"] for item in manifest["files"]]


def full_refresh(lake: Any, singer: Any) -> tuple[list[str], list[str]]:
    """A first load, then a full refresh replacing it: (the old keys, the new keys)."""
    lake.run(singer.lines("games_incremental.singer"), batch_size_records=40)
    old = listed(lake)
    lake.run(singer.lines("games_full_refresh.singer", version=NEWER), batch_size_records=30)
    return old, listed(lake)


def removed_at(lake: Any) -> dt.datetime:
    manifest = lake.manifest(GAMES)
    assert manifest is not None
    [moment] = {item["removed_at"] for item in manifest["removed"]}
    return dt.datetime.fromisoformat(moment)


def backdate_removal(lake: Any, by: dt.timedelta) -> None:
    """As if the swap had happened `by` ago: the time the vacuum reads, moved back."""
    manifest = lake.manifest(GAMES)
    for item in manifest["removed"]:
        moment = dt.datetime.fromisoformat(item["removed_at"]) - by
        item["removed_at"] = f"{moment:%Y-%m-%dT%H:%M:%SZ}"
    lake.storage().write(MANIFEST, json.dumps(manifest).encode())


def readable(lake: Any, keys: list[str]) -> bool:
    present = set(lake.keys("raw"))
    return all(key in present and lake.lines(key) for key in keys)


def test_a_version_swap_keeps_what_it_removed_with_the_time_of_removal(
    lake: Any, singer: Any
) -> None:
    old, new = full_refresh(lake, singer)

    manifest = lake.manifest(GAMES)
    assert [item["key"] for item in manifest["removed"]] == old
    assert abs(removed_at(lake) - utc_now()) < dt.timedelta(minutes=10)
    assert not set(old) & set(new)
    assert readable(lake, old)  # removed, still readable
    for key in old:
        assert lake.status(key) in {"outdated", None}


@pytest.mark.fault_matrix(
    fault="a reader still on the old manifest after a full refresh",
    injected="the vacuum's notion of now (6 and 8 days after the swap)",
    outcome="survived: the replaced files stay readable for the 7-day grace, then go",
    check="6 days on: every removed file readable; 8 days on: all deleted, listed files intact",
)
def test_a_file_removed_today_survives_a_vacuum_6_days_later_and_is_gone_8_days_later(
    lake: Any, singer: Any
) -> None:
    old, new = full_refresh(lake, singer)
    removal = removed_at(lake)
    before = lake.manifest(GAMES)

    early = lake.vacuum(now=removal + 6 * DAY)

    assert early.deleted == []
    assert readable(lake, old)
    assert lake.manifest(GAMES) == before

    late = lake.vacuum(now=removal + 8 * DAY)

    assert sorted(late.deleted) == sorted(old)
    assert not set(old) & set(lake.keys("raw"))
    after = lake.manifest(GAMES)
    assert after["removed"] == []
    assert after["files"] == before["files"]
    assert readable(lake, new)


def test_no_vacuum_deletes_a_listed_file_however_old(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("games_incremental.singer"), batch_size_records=40)
    keys = listed(lake)

    result = lake.vacuum(now=utc_now() + 3650 * DAY)

    assert result.deleted == []
    assert readable(lake, keys)


@pytest.mark.fault_matrix(
    fault="a listed file left tagged temp by an older target, then 10 days without a run",
    injected="manifest `untagged` and tag as an older target's crash left them; now + 10 days",
    outcome="survived: neither a lifecycle rule nor the vacuum deletes it; the next run re-tags it",
    check="stored rules expire nothing listed; file readable after the vacuum; tagged final",
)
def test_a_listed_file_left_temp_survives_a_10_day_gap(
    lake: Any, singer: Any, write_config: Any
) -> None:
    lake.run(singer.lines("games_incremental.singer"), batch_size_records=40)
    stuck = listed(lake)[-1]
    manifest = lake.manifest(GAMES)
    manifest["untagged"] = [stuck]  # as a target that listed before tagging left it
    lake.storage().write(MANIFEST, json.dumps(manifest).encode())
    if lake.mode == "s3":
        lake.client.put_object_tagging(
            Bucket=lake.bucket,
            Key=stuck,
            Tagging={"TagSet": [{"Key": "status", "Value": "temp"}]},
        )
        assert store_lifecycle_rules(["--config", str(write_config(lake.config))]) == 0
        assert lake.expiring_rules(stuck, {"status": "temp"}, age_days=10) == []

    result = lake.vacuum(now=utc_now() + 10 * DAY)

    assert stuck not in result.deleted
    assert readable(lake, [stuck])
    lake.run(singer.lines("games_incremental.singer")[:1])  # the next run of the stream
    assert lake.status(stuck) in {"final", None}


@pytest.mark.fault_matrix(
    fault="unlisted files of a crashed full refresh (its version never completed)",
    injected="recorded Singer input without the closing ACTIVATE_VERSION; now + 6 and + 8 days",
    outcome="cleaned: kept while younger than the grace, deleted once older",
    check="6 days on: every leftover kept; 8 days on: exactly the leftovers deleted",
)
def test_an_unlisted_leftover_is_deleted_once_older_than_the_grace(lake: Any, singer: Any) -> None:
    lake.run(singer.lines("games_incremental.singer"), batch_size_records=40)
    keys = listed(lake)
    incomplete = singer.lines("games_full_refresh_incomplete.singer", version=NEWER)
    lake.run(incomplete, batch_size_records=30)
    leftovers = [key for key in lake.keys(GAMES) if "/batch-" in key and key not in keys]
    assert len(leftovers) == 4

    young = lake.vacuum(now=utc_now() + 6 * DAY)

    assert young.deleted == []
    assert readable(lake, leftovers)

    old = lake.vacuum(now=utc_now() + 8 * DAY)

    assert sorted(old.deleted) == sorted(leftovers)
    assert readable(lake, keys)
    assert [key for key in lake.keys(GAMES) if "/batch-" in key] == sorted(keys)


def test_on_disk_an_old_leftover_goes_and_a_young_one_stays(local_lake: Any, singer: Any) -> None:
    incomplete = singer.lines("games_full_refresh_incomplete.singer", version=NEWER)
    local_lake.run(incomplete, batch_size_records=30)
    leftovers = [key for key in local_lake.keys(GAMES) if "/batch-" in key]
    old = local_lake.root / leftovers[0]
    eight_days_ago = (utc_now() - 8 * DAY).timestamp()
    os.utime(old, (eight_days_ago, eight_days_ago))

    result = local_lake.vacuum(now=utc_now())

    assert result.deleted == [leftovers[0]]
    assert readable(local_lake, leftovers[1:])


class Waiting(logging.Handler):
    """Set once the lake lock logs that it is waiting for another run's lease."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen = threading.Event()

    @override
    def emit(self, record: logging.LogRecord) -> None:
        if "waiting up to" in record.getMessage():
            self.seen.set()


@pytest.mark.fault_matrix(
    fault="the vacuum runs while a full refresh is writing its unlisted files",
    injected="target-s3-vacuum's lock taken by a live target process; now + 30 days",
    outcome="refused in one line, or waits for the lock; never deletes the writer's files",
    check="the writer's files intact and listed after it completes; only replaced files deleted",
)
def test_a_running_writers_unlisted_files_are_never_touched(
    lake: Any, singer: Any, write_config: Any
) -> None:
    lake.run(singer.lines("games_incremental.singer"), batch_size_records=40)
    old = listed(lake)
    full = singer.lines("games_full_refresh.singer", version=NEWER)
    config = write_config({**lake.config, "batch_size_records": 30})
    writer = singer.start_target(config, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert writer.stdin is not None
    writer.stdin.write("\n".join(full[:-2]) + "\n")  # everything but the version's closing
    writer.stdin.flush()
    deadline = time.monotonic() + 120

    def writers_files() -> list[str]:
        return [key for key in lake.keys(GAMES) if "/batch-" in key and key not in old]

    while len(writers_files()) < 3:  # 100 records in files of 30: three stored, unlisted
        assert writer.poll() is None, writer.stderr.read() if writer.stderr else ""
        assert time.monotonic() < deadline, "the writer never stored its files"
        time.sleep(0.05)  # polling the lake; the deadline bounds the wait
    unlisted = writers_files()

    with pytest.raises(LakeLockedError, match="held by another run"):
        lake.vacuum(now=utc_now() + 30 * DAY)
    assert readable(lake, unlisted)

    waiting = Waiting()
    lock_logger = logging.getLogger("target_s3.lake_lock")
    lock_logger.addHandler(waiting)
    previous_level = lock_logger.level
    lock_logger.setLevel(logging.INFO)
    results: list[Any] = []
    vacuum = threading.Thread(
        target=lambda: results.append(lake.vacuum(now=utc_now() + 30 * DAY, wait_seconds=120))
    )
    try:
        vacuum.start()
        assert waiting.seen.wait(60), "the vacuum never waited for the writer's lock"
        writer.stdin.write("\n".join(full[-2:]) + "\n")  # the version completes
        writer.stdin.close()
        assert writer.wait(timeout=120) == 0, writer.stderr.read() if writer.stderr else ""
        vacuum.join(timeout=120)
    finally:
        lock_logger.removeHandler(waiting)
        lock_logger.setLevel(previous_level)
        if writer.stderr:
            writer.stderr.close()

    [result] = results
    now_listed = listed(lake)
    assert set(unlisted) <= set(now_listed)  # the writer's files: listed, never deleted
    assert readable(lake, now_listed)
    assert sorted(result.deleted) == sorted(old)  # only what the swap replaced, 30 days on


def test_every_target_run_ends_with_a_vacuum_under_its_own_lock(
    lake: Any, singer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = full_refresh(lake, singer)
    backdate_removal(lake, 8 * DAY)
    storage_class = type(lake.storage())
    delete = storage_class.delete
    locked_at_delete: list[bool] = []

    def delete_noting_the_lock(self: Storage, key: str) -> None:
        locked_at_delete.append(LOCK in lake.keys("raw"))
        delete(self, key)

    monkeypatch.setattr(storage_class, "delete", delete_noting_the_lock)

    lake.run(singer.lines("games_incremental.singer")[:5])

    assert locked_at_delete == [True] * len(old)
    assert not set(old) & set(lake.keys("raw"))
    assert lake.manifest(GAMES)["removed"] == []
    assert readable(lake, new)
    assert LOCK not in lake.keys("raw")


def test_the_grace_is_the_grace_days_setting(lake: Any, singer: Any) -> None:
    old, _ = full_refresh(lake, singer)
    backdate_removal(lake, 3 * DAY)

    lake.run(singer.lines("games_incremental.singer")[:1], grace_days=4)
    assert readable(lake, old)

    lake.run(singer.lines("games_incremental.singer")[:1], grace_days=2)
    assert not set(old) & set(lake.keys("raw"))


def run_vacuum_command(config: dict[str, Any], **env: str) -> subprocess.CompletedProcess[str]:
    """`target-s3-vacuum` as `meltano invoke target-s3:vacuum` runs it: settings in TARGET_S3_*."""
    settings = {f"TARGET_S3_{name.upper()}": str(value) for name, value in config.items()}
    return subprocess.run(
        [VACUUM_BIN],
        env={**os.environ, **settings, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_vacuum_command_deletes_and_says_what_it_did(lake: Any, singer: Any) -> None:
    old, new = full_refresh(lake, singer)
    backdate_removal(lake, 8 * DAY)

    result = run_vacuum_command(lake.config)

    assert result.returncode == 0, result.stderr
    assert f"deleted {len(old)} files removed from their table more than 7 days ago" in (
        result.stdout
    )
    assert not set(old) & set(lake.keys("raw"))
    assert readable(lake, new)
    assert LOCK not in lake.keys("raw")


def test_the_vacuum_command_refuses_a_locked_lake_in_one_line(lake: Any, singer: Any) -> None:
    old, _ = full_refresh(lake, singer)
    backdate_removal(lake, 8 * DAY)
    holder = LakeLock(lake.storage(), LOCK, ttl_seconds=60, wait_seconds=0)
    holder.acquire()
    try:
        result = run_vacuum_command(lake.config)
    finally:
        holder.release()

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, result.stderr
    assert "lake lock" in errors[0]
    assert holder.owner in errors[0]
    assert readable(lake, old)


def test_the_vacuum_command_names_a_bad_setting_in_one_line(local_lake: Any) -> None:
    result = run_vacuum_command({**local_lake.config, "grace_days": "0"})

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "target-s3-vacuum: setting 'grace_days' must be an integer from 1 to 365, got 0"
    ]


@pytest.mark.fault_matrix(
    fault="the end-of-run vacuum may not delete (DeleteObject denied under raw/games/)",
    injected="SeaweedFS bucket policy",
    outcome="survived: the run succeeds and emits its state; one warning line names the cause",
    check="state emitted, files listed; the removed files kept for a later vacuum",
)
def test_a_failing_vacuum_is_a_warning_not_a_failed_run(
    s3_lake: Any, singer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    old, _ = full_refresh(s3_lake, singer)
    backdate_removal(s3_lake, 8 * DAY)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:DeleteObject",
                "Resource": f"arn:aws:s3:::{s3_lake.bucket}/{GAMES}/*",
            }
        ],
    }
    s3_lake.client.put_bucket_policy(Bucket=s3_lake.bucket, Policy=json.dumps(policy))
    lines = singer.lines("games_incremental.singer")

    emitted = s3_lake.run(lines)

    assert emitted[-1] == json.loads(lines[-1])["value"]
    warnings = [r.getMessage() for r in caplog.records if "the vacuum failed" in r.getMessage()]
    assert len(warnings) == 1
    assert "AccessDenied" in warnings[0]
    assert readable(s3_lake, old)  # still there, still in `removed`, for the next vacuum
    assert {item["key"] for item in s3_lake.manifest(GAMES)["removed"]} == set(old)
    assert LOCK not in s3_lake.keys("raw")
