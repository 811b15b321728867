"""The lake lock: one writer at a time per raw layer, across machines.

Meltano refuses a second run of a pipeline only within one system database;
two GitHub runners have one each, and would both write the same lake. So the
target holds a lease, `{prefix}/_lock.json`, for its whole run:

- taken when the run's first SCHEMA arrives, before the lake is read or
  written, by an exclusive create (S3 `If-None-Match: *`; on disk a hard
  link, which fails when the name exists);
- renewed by a heartbeat thread every third of its TTL, each renewal
  conditional on the version it wrote last (S3 `If-Match`), so a writer whose
  lease was taken over finds out instead of overwriting the new holder;
- checked before every manifest write (one read per batch file, never per
  record): a writer that lost it stops before listing anything more;
- released when the input ends, or at interpreter exit after a failure or a
  SIGTERM (a delete conditional on its version); a SIGTERM that arrives while
  the lease is being taken waits until its release is registered.

A second writer that finds a live lease fails at once with one line naming the
lock, its holder and its expiry, or waits up to `lock_wait_seconds`. A lease
is taken over, again conditionally on the version read, when it has expired
(its holder died elsewhere: kill -9, a lost runner) or when its holder was a
process of this same machine (same boot id and pid namespace) that no longer
exists, so a crash and rerun on one machine does not wait. A lease of this
very process (a target driven in-process that failed without releasing) is
ours to take too: one process is one run. Expiry compares the holder's clock
with ours: clocks must agree to well within the TTL (NTP).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from target_s3.storage import Storage, StorageError

POLL_SECONDS = 2.0
TAKE_ATTEMPTS = 5  # each failed attempt means another writer changed the lease first

logger = logging.getLogger(__name__)


class LakeLockedError(StorageError):
    """Another live writer holds the lake lock."""


class LakeLockLostError(StorageError):
    """This writer's lease was taken over or removed while it was writing."""


def this_machine() -> dict[str, str | None]:
    """What makes a pid meaningful: this boot of this kernel and this pid namespace.

    A container shares the host's boot id but numbers its processes apart, so
    both are needed before a pid may be checked. None off Linux: no takeover.
    """
    boot_id = Path("/proc/sys/kernel/random/boot_id")
    try:
        return {
            "boot_id": boot_id.read_text().strip(),
            "pid_namespace": os.readlink("/proc/self/ns/pid"),
        }
    except OSError:
        return {"boot_id": None, "pid_namespace": None}


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False  # kill(0 or negative) would address a process group
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


@contextlib.contextmanager
def termination_deferred() -> Iterator[None]:
    """Hold SIGTERM and SIGINT back until the block ends, then act on them.

    Taking the lease writes it and then notes its version and registers its
    release; a signal handled in between (Meltano stops plugins with SIGTERM)
    would exit with the lease on storage and no release. The block is short:
    a few storage calls, bounded by the client's timeouts and retries.
    Python runs signal handlers in the main thread only, so elsewhere this
    does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {
        deferred: signal.signal(deferred, lambda signum, _frame: received.append(signum))
        for deferred in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for deferred, handler in previous.items():
            # None: a handler installed outside Python; the default is the nearest.
            signal.signal(deferred, signal.SIG_DFL if handler is None else handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)


def _iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, tz=dt.UTC).isoformat(timespec="milliseconds")


@dataclasses.dataclass(frozen=True)
class Lease:
    """The lock object's content: who holds the lake, and until when."""

    owner: str
    host: str
    pid: int
    boot_id: str | None
    pid_namespace: str | None
    acquired_at: str
    expires_at: str

    def to_json(self) -> bytes:
        return json.dumps(dataclasses.asdict(self), indent=2).encode() + b"\n"

    @classmethod
    def from_json(cls, body: bytes) -> Lease:
        document = json.loads(body)
        lease = cls(
            owner=str(document["owner"]),
            host=str(document["host"]),
            pid=int(document["pid"]),
            boot_id=document.get("boot_id"),
            pid_namespace=document.get("pid_namespace"),
            acquired_at=str(document["acquired_at"]),
            expires_at=str(document["expires_at"]),
        )
        _ = lease.expires  # a lease without a readable expiry is not a lease
        return lease

    @property
    def expires(self) -> float:
        return dt.datetime.fromisoformat(self.expires_at).timestamp()

    def on_machine(self, machine: dict[str, str | None]) -> bool:
        return machine["boot_id"] is not None and (self.boot_id, self.pid_namespace) == (
            machine["boot_id"],
            machine["pid_namespace"],
        )

    def describe(self) -> str:
        return (
            f"owner {self.owner} on host {self.host} (pid {self.pid}), "
            f"acquired {self.acquired_at}, expires {self.expires_at}"
        )


class LakeLock:
    """A renewable lease on one lake: `acquire()`, then `release()` when done."""

    def __init__(
        self, storage: Storage, key: str, *, ttl_seconds: float, wait_seconds: float
    ) -> None:
        self.storage = storage
        self.key = key
        self.ttl = ttl_seconds
        self.wait = wait_seconds
        self.owner = uuid.uuid4().hex
        self._machine = this_machine()
        self._lease: Lease | None = None
        self._token: str | None = None  # version of the lease we wrote last
        self._lost: str | None = None
        # Renewals (heartbeat thread), checks and the release take turns.
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    @property
    def where(self) -> str:
        return self.storage.describe(self.key)

    @property
    def held(self) -> bool:
        """Taken by `acquire` and not released (it may have been lost since)."""
        return self._token is not None

    # Taking the lease ----------------------------------------------------

    def acquire(self) -> None:
        """Take the lease (waiting up to `wait` seconds for a live holder), then renew it."""
        if self._token is not None:
            return
        deadline = time.monotonic() + self.wait
        while True:
            with termination_deferred():
                holder = self._try_take()
                if holder is None:
                    self._hold()
                    return
            left = deadline - time.monotonic()
            if left <= 0:
                raise LakeLockedError(self._refusal(holder))
            logger.info(
                "Lake lock %s is held by %s; waiting up to %.0f s more",
                self.where,
                holder.describe(),
                left,
            )
            time.sleep(min(POLL_SECONDS, left))  # poll interval of a deadline-bounded wait

    def _hold(self) -> None:
        """Start renewing the lease just taken, and release it at exit whatever happens."""
        self._lost = None
        self._stop.clear()
        self._heartbeat = threading.Thread(
            target=self._beat, name="lake-lock-heartbeat", daemon=True
        )
        self._heartbeat.start()
        atexit.register(self.release)  # after a failure, or a SIGTERM (the SDK drains, exits)

    def _try_take(self) -> Lease | None:
        """Take the lease if it is free or abandoned; otherwise return the live holder's."""
        holder = None
        with self.storage.exclusive(self.key):
            for _ in range(TAKE_ATTEMPTS):
                now = time.time()
                mine = Lease(
                    owner=self.owner,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    boot_id=self._machine["boot_id"],
                    pid_namespace=self._machine["pid_namespace"],
                    acquired_at=_iso(now),
                    expires_at=_iso(now + self.ttl),
                )
                token = self.storage.write_if(self.key, mine.to_json(), None)
                if token is not None:
                    self._lease, self._token = mine, token
                    return None
                current = self.storage.read(self.key)
                if current is None:
                    continue  # released in between: create it again
                holder = self._parse(current.body)
                reason = self._abandoned(holder, now)
                if reason is None:
                    return holder
                token = self.storage.write_if(self.key, mine.to_json(), current.token)
                if token is not None:
                    logger.warning(
                        "Took over lake lock %s from %s: %s", self.where, holder.describe(), reason
                    )
                    self._lease, self._token = mine, token
                    return None
        if holder is None:
            raise LakeLockedError(f"lake lock {self.where} kept changing hands; try again")
        return holder

    def _abandoned(self, holder: Lease, now: float) -> str | None:
        """Why `holder` may be taken over, or None while it is live."""
        if holder.expires <= now:
            return f"it expired at {holder.expires_at}"
        if holder.on_machine(self._machine):
            if holder.pid == os.getpid():
                return "it was left by this same process"
            if not pid_alive(holder.pid):
                return f"its process {holder.pid} on this machine is gone"
        return None

    def _parse(self, body: bytes) -> Lease:
        try:
            return Lease.from_json(body)
        except (ValueError, TypeError, KeyError) as exc:
            raise StorageError(
                f"lake lock {self.where} is not a target-s3 lease ({exc}); "
                "if no target is writing this lake, delete it"
            ) from None

    def _refusal(self, holder: Lease) -> str:
        waited = f" after we waited {self.wait:g} s" if self.wait else ""
        return (
            f"lake lock {self.where} is held by another run{waited}: {holder.describe()}; "
            "nothing was written. Rerun once it has finished (a lease of a crashed run "
            "expires by itself), or set lock_wait_seconds to wait for it"
        )

    # Holding it ----------------------------------------------------------

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            self._renew()
            if self._lost is not None:
                return

    def _renew(self) -> None:
        with self._mutex:
            if self._lease is None or self._token is None or self._lost is not None:
                return
            renewed = dataclasses.replace(self._lease, expires_at=_iso(time.time() + self.ttl))
            try:
                with self.storage.exclusive(self.key):
                    token = self.storage.write_if(self.key, renewed.to_json(), self._token)
            except (StorageError, OSError) as exc:
                # Transient: the next beat retries; ensure_held stops us once it expires.
                logger.warning(
                    "Could not renew lake lock %s (expires %s): %s",
                    self.where,
                    self._lease.expires_at,
                    exc,
                )
                return
            if token is None:
                self._lost = self._current_holder()
                logger.warning("Lake lock %s was taken over: %s", self.where, self._lost)
                return
            self._lease, self._token = renewed, token

    def _current_holder(self) -> str:
        """Who holds the lease now, for a message (never raises: the heartbeat calls it)."""
        try:
            current = self.storage.read(self.key)
            if current is None:
                return "the lease was deleted"
            return f"now held by {self._parse(current.body).describe()}"
        except (StorageError, OSError) as exc:
            return f"the lease changed ({exc})"

    def ensure_held(self) -> None:
        """Raise LakeLockLostError unless the stored lease is still ours and live.

        Called before every manifest write.
        """
        with self._mutex:
            if self._token is None and self._lost is None:
                raise LakeLockLostError(f"the lake lock {self.where} is not held")
            if self._lost is None:
                current = self.storage.read(self.key)
                lease = self._parse(current.body) if current is not None else None
                if lease is None or lease.owner != self.owner:
                    self._lost = self._current_holder()
                elif lease.expires <= time.time():
                    self._lost = f"our lease expired at {lease.expires_at} without renewal"
            if self._lost is not None:
                raise LakeLockLostError(
                    f"lost the lake lock {self.where} ({self._lost}); "
                    "stopped before listing more files"
                )

    # Letting go ----------------------------------------------------------

    def release(self) -> None:
        """Stop renewing and delete the lease if it is still ours. Idempotent."""
        atexit.unregister(self.release)
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()  # bounded by the S3 client's timeouts and retries
            self._heartbeat = None
        with self._mutex:
            token, self._token = self._token, None
            if token is None or self._lost is not None:
                return
            try:
                with self.storage.exclusive(self.key):
                    released = self.storage.delete_if(self.key, token)
            except (StorageError, OSError) as exc:
                logger.warning(
                    "Could not release lake lock %s: %s; it expires %s (a rerun on this "
                    "machine takes it over at once)",
                    self.where,
                    exc,
                    self._lease.expires_at if self._lease else "soon",
                )
                return
            if not released:
                logger.warning("Lake lock %s was no longer ours at release", self.where)
