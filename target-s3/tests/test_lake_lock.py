"""The lake lock: one writer per raw layer, on local disk and on real S3 (SeaweedFS)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from target_s3.lake_lock import LakeLock, LakeLockedError, LakeLockLostError, this_machine

LOCK_KEY = "raw/_lock.json"
# Another writer: a process that takes the lake lock, says so, and holds it
# until its stdin closes.
HOLDER = f"""
import json, sys
from target_s3.lake_lock import LakeLock
from target_s3.storage import open_storage

lock = LakeLock(open_storage(json.loads(sys.argv[1])), {LOCK_KEY!r}, ttl_seconds=60, wait_seconds=0)
lock.acquire()
print("held", flush=True)
sys.stdin.read()
lock.release()
"""

# A writer stopped by SIGTERM at the worst moment: right after its lease
# reached storage, before the lock has noted it. Its handler exits as the
# SDK's does (sys.exit), which runs the exit hooks.
TERMINATED_WHILE_TAKING = f"""
import json, os, signal, sys
from target_s3.lake_lock import LakeLock
from target_s3.storage import open_storage

signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
storage = open_storage(json.loads(sys.argv[1]))
write_if = storage.write_if

def write_then_terminated(*args, **kwargs):
    token = write_if(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGTERM)
    return token

storage.write_if = write_then_terminated
LakeLock(storage, {LOCK_KEY!r}, ttl_seconds=60, wait_seconds=0).acquire()
print("not stopped", flush=True)
"""


def make_lock(lake: Any, *, ttl: float = 60, wait: float = 0) -> LakeLock:
    return LakeLock(lake.storage(), LOCK_KEY, ttl_seconds=ttl, wait_seconds=wait)


def lease(lake: Any) -> dict[str, Any]:
    return json.loads(lake.read_bytes(LOCK_KEY))  # type: ignore[no-any-return]  # the lease is a JSON object


def write_foreign_lease(lake: Any, *, expires_in: float, **fields: Any) -> dict[str, Any]:
    """A lease as another writer would have left it (overwriting any present)."""
    now = dt.datetime.now(tz=dt.UTC)
    document = {
        "owner": "0ther-0wner",
        "host": "runner-elsewhere",
        "pid": 4242,
        "boot_id": "another-machine",
        "pid_namespace": "pid:[1]",
        "acquired_at": (now - dt.timedelta(minutes=10)).isoformat(),
        "expires_at": (now + dt.timedelta(seconds=expires_in)).isoformat(),
        **fields,
    }
    storage = lake.storage()
    current = storage.read(LOCK_KEY)
    assert storage.write_if(LOCK_KEY, json.dumps(document).encode(), current and current.token)
    return document


@pytest.fixture
def held(lake: Any) -> Iterator[subprocess.Popen[str]]:
    """The lake lock, held by another process until its stdin is closed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, json.dumps(lake.config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    yield holder
    if holder.stdin and not holder.stdin.closed:
        holder.stdin.close()
    holder.wait(timeout=60)
    holder.stdout.close()


def test_a_live_lease_refuses_a_second_writer_naming_the_lock_owner_and_expiry(
    lake: Any, held: subprocess.Popen[str]
) -> None:
    before = lease(lake)
    started = time.monotonic()
    with pytest.raises(LakeLockedError) as refused:
        make_lock(lake).acquire()

    assert time.monotonic() - started < 5  # lock_wait_seconds 0: at once
    assert {"owner", "host", "pid", "boot_id", "acquired_at", "expires_at"} <= set(before)
    assert before["pid"] == held.pid
    message = str(refused.value)
    assert "\n" not in message
    assert lake.storage().describe(LOCK_KEY) in message
    for field in ("owner", "host", "pid", "expires_at"):
        assert str(before[field]) in message, field
    assert lease(lake) == before  # the refused writer did not disturb the holder


def test_release_removes_the_lease_and_lets_the_next_writer_in(lake: Any) -> None:
    first = make_lock(lake)
    first.acquire()
    first.release()
    first.release()  # idempotent

    assert LOCK_KEY not in lake.keys("raw")
    second = make_lock(lake)
    second.acquire()
    assert lease(lake)["owner"] == second.owner
    second.release()


@pytest.mark.parametrize(("expires_in", "taken"), [(-1, True), (3600, False)])
def test_a_foreign_lease_is_taken_over_only_once_expired(
    lake: Any, expires_in: float, taken: bool
) -> None:
    foreign = write_foreign_lease(lake, expires_in=expires_in)
    lock = make_lock(lake)

    if taken:
        lock.acquire()
        assert lease(lake)["owner"] == lock.owner
        lock.release()
    else:
        with pytest.raises(LakeLockedError, match=foreign["owner"]):
            lock.acquire()
        assert lease(lake) == foreign


@pytest.mark.parametrize("holder", ["dead", "alive"])
def test_a_lease_of_a_process_on_this_machine_is_taken_over_at_once_only_if_it_died(
    lake: Any, holder: str
) -> None:
    script = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"
    process = subprocess.Popen(
        [sys.executable, "-c", script if holder == "alive" else "import os; print(os.getpid())"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        pid = int(process.stdout.readline())
        if holder == "dead":
            process.wait(timeout=30)
        machine = this_machine()
        write_foreign_lease(lake, expires_in=3600, pid=pid, **machine)
        lock = make_lock(lake)
        if holder == "dead":
            lock.acquire()
            assert lease(lake)["owner"] == lock.owner
            lock.release()
        else:
            with pytest.raises(LakeLockedError, match=f"pid {pid}"):
                lock.acquire()
    finally:
        process.kill()
        process.wait(timeout=30)


def test_the_heartbeat_renews_the_lease_while_it_is_held(lake: Any) -> None:
    lock = make_lock(lake, ttl=1.5)  # renewed every 0.5 s
    lock.acquire()
    try:
        first = lease(lake)
        deadline = time.monotonic() + 10
        while lease(lake)["expires_at"] == first["expires_at"]:
            assert time.monotonic() < deadline, "the lease was never renewed"
            time.sleep(0.1)  # polling the lease; the deadline bounds the wait
        time.sleep(2)  # longer than the TTL: only renewals keep it alive
        lock.ensure_held()
        renewed = lease(lake)
        assert renewed["owner"] == first["owner"]
        assert renewed["acquired_at"] == first["acquired_at"]
        assert dt.datetime.fromisoformat(renewed["expires_at"]) > dt.datetime.now(tz=dt.UTC)
    finally:
        lock.release()
    assert LOCK_KEY not in lake.keys("raw")


def test_a_writer_whose_lease_was_taken_over_stops_and_leaves_it_alone(lake: Any) -> None:
    lock = make_lock(lake)
    lock.acquire()
    lock.ensure_held()
    thief = write_foreign_lease(lake, expires_in=3600)  # as after an expiry and a takeover

    with pytest.raises(LakeLockLostError) as lost:
        lock.ensure_held()

    assert thief["owner"] in str(lost.value)
    lock.release()
    assert lease(lake) == thief  # never deletes another writer's lease


def test_a_lease_left_by_this_same_process_is_taken_over(lake: Any) -> None:
    """A target driven in-process that failed without releasing: one process is one run."""
    left = make_lock(lake)
    left.acquire()  # and never released
    lock = make_lock(lake)

    lock.acquire()

    assert lease(lake)["owner"] == lock.owner
    lock.release()
    left.release()  # finds the lease gone: nothing to do


def test_a_waiting_writer_gets_the_lock_when_it_is_released(
    lake: Any, held: subprocess.Popen[str]
) -> None:
    assert held.stdin is not None
    releaser = threading.Timer(1.0, held.stdin.close)
    waiting = make_lock(lake, wait=30)  # first: making an S3 client takes a while when busy
    started = time.monotonic()
    releaser.start()
    try:
        waiting.acquire()
        assert time.monotonic() - started >= 0.9
        assert lease(lake)["owner"] == waiting.owner
    finally:
        releaser.join()
        waiting.release()


def test_a_waiting_writer_gives_up_after_lock_wait_seconds(
    lake: Any, held: subprocess.Popen[str]
) -> None:
    started = time.monotonic()
    with pytest.raises(LakeLockedError, match="waited 1 s"):
        make_lock(lake, wait=1).acquire()
    assert 0.9 <= time.monotonic() - started < 10
    assert lease(lake)["pid"] == held.pid


def test_sigterm_while_the_lease_is_being_taken_still_releases_it(lake: Any) -> None:
    """Meltano's SIGTERM can land just after the lease is written: the lease must
    not outlive the process (a rerun elsewhere would wait for its expiry)."""
    stopped = subprocess.run(
        [sys.executable, "-c", TERMINATED_WHILE_TAKING, json.dumps(lake.config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert stopped.returncode == 0, stopped.stderr
    assert "not stopped" not in stopped.stdout  # the signal was acted on
    assert LOCK_KEY not in lake.keys("raw")
