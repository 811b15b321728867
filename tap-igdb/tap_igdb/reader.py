"""One reader for the whole run: every selected stream's requests through one pool.

IGDB allows 4 request starts per second and 8 open requests, so a run is as fast as
it keeps those slots busy, while the SDK syncs streams one after another. The reader
therefore reads ahead: when the SDK asks for the first stream's records, the tap
opens the reads of every selected stream, their first requests (plan.py) are made at
once, and requests of later streams fill the slots the current stream leaves idle.
Requests go out through the run's transport (transport.py). Jobs run probes first, then in stream
order and id order, on `max_open_requests` threads that share the run's limiter.

A worker picks its job only once the limiter lets it start (one worker at a time
waits for the next start), so the job is the most urgent one at that moment, not
when the worker happened to come free.

Memory stays flat in the size of the source: a worker holds a response's raw JSON
(responses.py), never its decoded records, and responses wait for the main thread
only up to `BUFFERED_BYTES`; the stream the SDK is syncing may always use every
worker, so the cap never blocks it. The main thread takes that stream's responses in
arrival order and decodes them.

When the source is latency-bound (a full request takes longer than the rate limit
needs to fill every slot, so start slots go spare), the last ranges are split by a
probe into smaller ones as they are taken, so the run does not end waiting on a few
long requests while the other slots sit idle.
"""

from __future__ import annotations

import itertools
import logging
import math
import statistics
import threading
import typing as t
from bisect import insort
from dataclasses import dataclass, field

from tap_igdb.errors import RunError
from tap_igdb.plan import (
    Job,
    Opening,
    Probe,
    RangeRead,
    Source,
    StreamRead,
    StreamResponse,
)
from tap_igdb.responses import RawRecords
from tap_igdb.settings import ReadSettings

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from tap_igdb.apicalypse import Block
    from tap_igdb.limiter import RequestLimiter
    from tap_igdb.responses import Answer
    from tap_igdb.transport import Resizable

IDLE_SECONDS = 2.0
"""A worker with nothing to do for this long ends (a new one starts with new work)."""
BUFFERED_BYTES = 64 * 1024 * 1024
"""Raw JSON read ahead, all streams together, beyond which only the stream the SDK is
syncing gets new requests (~11 full responses of games). Enough for the next streams'
responses to wait while a slow last range holds up the current one."""
TIMINGS_KEPT = 8
"""Requests of each kind whose durations tell whether the source is latency-bound."""


class Transport(t.Protocol):
    """What the reader needs to send a request (transport.py)."""

    def fetch(self, request: Resizable) -> list[Answer]:
        """The request's answers in block order (after a 413: for fewer records)."""
        ...

    def exchange_seconds(self) -> float:
        """How long this thread's last request took on the wire (limiter waits excluded)."""
        ...


@dataclass(order=True)
class _Queued:
    key: tuple[bool, int, int, int]
    job: Job = field(compare=False)


class RunReader:
    """Reads streams ahead of the SDK on `max_open_requests` threads; see the module doc."""

    def __init__(
        self,
        settings: ReadSettings,
        limiter: RequestLimiter,
        transport: Transport,
        logger: logging.Logger,
    ) -> None:
        self.settings = settings
        self._limiter = limiter
        self._transport = transport
        self._logger = logger
        self._cond = threading.Condition()
        self._start_gate = threading.Lock()
        self._queue: list[_Queued] = []
        self._sequence = itertools.count()
        self._orders = itertools.count()
        self._reads: dict[str, StreamRead] = {}
        self._consuming: StreamRead | None = None
        self._buffered_bytes = 0  # raw JSON waiting for the main thread, all streams
        self._workers = 0
        self._closed = False
        self._seconds: dict[str, list[float]] = {"full": [], "probe": []}

    # --- the main thread's side ---------------------------------------------------------

    def open(self, sources: Sequence[Source]) -> None:
        """Start reading `sources`, in the order the SDK will sync them."""
        with self._cond:
            self._closed = False
            reads = [
                StreamRead(source, next(self._orders), self.settings)
                for source in sources
                if source.name not in self._reads
            ]
            for read in reads:
                self._reads[read.name] = read
            small = [read for read in reads if read.source.fits_one_page]
            for start in range(0, len(small), self.settings.blocks_per_request):
                self._submit(Opening(small[start : start + self.settings.blocks_per_request]))
            for read in reads:
                if not read.source.fits_one_page:
                    for job in read.opening():
                        self._submit(job)

    @property
    def reading(self) -> bool:
        """Whether any stream is being read (or waits for the SDK to take its responses)."""
        with self._cond:
            return bool(self._reads)

    def __contains__(self, name: str) -> bool:
        """Whether the stream called `name` is being read."""
        with self._cond:
            return name in self._reads

    def read(self, source: Source) -> StreamRead:
        """The stream's read, opened now if `open` was not told about it."""
        if source.name not in self:
            self.open([source])
        with self._cond:
            return self._reads[source.name]

    def responses(self, source: Source) -> Iterator[StreamResponse]:
        """The stream's responses as they arrive; re-raises a failed request's error.

        A failed read ends this stream's read only: the others read on (the tap closes
        the reader when the run ends)."""
        read = self.read(source)
        with self._cond:
            self._consuming = read
            self._cond.notify_all()
        try:
            while (response := self._next_response(read)) is not None:
                yield response
        except (GeneratorExit, Exception):
            with self._cond:  # this stream failed, or the SDK stopped it early (a limit)
                self._stop(read)
            raise
        except BaseException:
            self.close()  # interrupted: stop reading ahead
            raise
        finally:
            with self._cond:
                if self._consuming is read:
                    self._consuming = None
                if self._reads.get(read.name) is read and read.finished:
                    del self._reads[read.name]

    def _next_response(self, read: StreamRead) -> StreamResponse | None:
        """The read's next response; None once it is complete."""
        with self._cond:
            while not read.ready and read.error is None and not read.finished:
                self._cond.wait()
            if read.ready:
                response = read.responses.popleft()
                self._buffered_bytes -= _size(response)
                self._cond.notify_all()
                return response
            if read.error is not None:
                raise read.error
            return None

    def close(self) -> None:
        """Stop every read; workers end once their current request is answered."""
        with self._cond:
            self._closed = True
            for read in self._reads.values():
                self._stop(read)
            self._reads.clear()
            self._cond.notify_all()

    def _stop(self, read: StreamRead) -> None:
        if not read.finished or read.responses:
            read.cancelled = True
        self._buffered_bytes -= sum(_size(response) for response in read.responses)
        read.responses.clear()

    # --- scheduling (under the lock) ----------------------------------------------------

    def _submit(self, job: Job) -> None:
        for read in job.reads:
            read.jobs += 1
        # Probes first (cheap, and they open ranges), then stream order, then id order.
        ranges = isinstance(job, RangeRead)
        key = (ranges, job.read.order, job.rank, next(self._sequence))
        insort(self._queue, _Queued(key, job))
        if self._workers < self.settings.max_open_requests:
            self._workers += 1
            name = f"igdb-reader-{self._workers}"
            threading.Thread(target=self._work, name=name, daemon=True).start()
        self._cond.notify()

    def _admissible(self, job: Job) -> bool:
        """Within the read-ahead budget; the stream being synced may always fill every
        worker."""
        if self._buffered_bytes < BUFFERED_BYTES:
            return True
        read = job.read
        return (
            read is self._consuming
            and read.in_flight + len(read.responses) < self.settings.max_open_requests
        )

    def _take(self) -> Job | None:
        """The first admissible job in priority order (jobs of stopped reads are dropped)."""
        for queued in [queued for queued in self._queue if queued.job.dropped]:
            self._queue.remove(queued)
            self._done(queued.job)
        for index, queued in enumerate(self._queue):
            job = queued.job
            if self._admissible(job):
                del self._queue[index]
                job = self._maybe_split(job)
                job.read.in_flight += 1
                return job
        return None

    def _maybe_split(self, job: Job) -> Job:
        """A fresh range taken near the end of a latency-bound run: probe it into ranges
        of about (work left) / workers records, one page at least."""
        if not isinstance(job, RangeRead) or not job.cursor.splittable:
            return job
        if not self._latency_bound():
            return job
        expected = job.cursor.expected
        page_size = job.read.page_size
        if expected is None:
            return job
        queued = [
            queued.job.cursor.expected or 0
            for queued in self._queue
            if isinstance(queued.job, RangeRead) and queued.job.cursor.splittable
        ]
        share = (expected + sum(queued)) / self.settings.max_open_requests
        spacing = max(page_size, math.ceil(share / page_size) * page_size)
        if expected < 2 * spacing:
            return job
        return job.read.split(job, spacing)

    def _latency_bound(self) -> bool:
        """Whether splitting a request pays: a full request takes longer than the rate
        limit needs to fill every slot (start slots go spare) and more than twice a
        probe (its records, not the request itself, cost most of its time)."""
        full, probe = self._seconds["full"], self._seconds["probe"]
        if not full or not probe:
            return False
        fill = self.settings.max_open_requests / self.settings.requests_per_second
        return statistics.median(full) > max(fill, 2 * statistics.median(probe))

    def _done(self, job: Job) -> None:
        for read in job.reads:
            read.jobs -= 1
        self._cond.notify_all()

    # --- the workers' side --------------------------------------------------------------

    def _next_job(self) -> Job | None:
        """Wait for work, then for a start, then take the most urgent job; None when the
        reader closed or stayed idle (the worker ends)."""
        while True:
            with self._start_gate:
                if not self._wait_for_work():
                    return None
                self._limiter.reserve()
                with self._cond:
                    job = self._take()
                if job is not None:
                    return job
                self._limiter.cancel_reservation()  # taken by a retry meanwhile: rare

    def _wait_for_work(self) -> bool:
        with self._cond:
            while not self._closed:
                if any(self._admissible(queued.job) for queued in self._queue):
                    return True
                if not self._cond.wait(IDLE_SECONDS) and not self._queue:
                    break
            self._workers -= 1
            return False

    def _work(self) -> None:
        while (job := self._next_job()) is not None:
            try:
                answers = self._fetch(job)
            except BaseException as exc:  # handed to the main thread
                self._finish(job, error=exc)
            else:
                self._finish(job, answers=answers)
            finally:
                # A job that failed before its request went out (say, no token) never
                # used its reserved start: give the open-request slot back.
                self._limiter.cancel_reservation()

    def _fetch(self, job: Job) -> list[Answer]:
        """The job's request (the transport shrinks its pages after a 413)."""
        answers = self._transport.fetch(_UnderLock(job, self._cond))
        self._time(job, answers, self._transport.exchange_seconds())
        return answers

    def _time(self, job: Job, answers: list[Answer], seconds: float) -> None:
        """Keep the durations of probes, and of range requests that came back at least
        half full (scaled to full)."""
        if isinstance(job, Probe):
            kind = "probe"
        else:
            records = sum(answer.size for answer in answers if isinstance(answer, RawRecords))
            full = self.settings.records_per_request
            if not isinstance(job, RangeRead) or records * 2 < full:
                return
            kind, seconds = "full", seconds * full / records
        with self._cond:
            timings = self._seconds[kind]
            timings.append(seconds)
            del timings[:-TIMINGS_KEPT]

    def _finish(
        self,
        job: Job,
        *,
        answers: list[Answer] | None = None,
        error: BaseException | None = None,
    ) -> None:
        with self._cond:
            job.read.in_flight -= 1
            try:
                if answers is not None and not job.dropped:
                    waiting = sum(_size(r) for read in job.reads for r in read.responses)
                    follow = job.answered(answers)
                    added = sum(_size(r) for read in job.reads for r in read.responses)
                    self._buffered_bytes += added - waiting
                    for read in job.reads:
                        if read.stopped:
                            self._stop(read)
                    self._log_plan(job)
                    for next_job in follow:
                        self._submit(next_job)
            except Exception as exc:  # an unexpected answer: handed to the main thread
                error = exc
            if error is not None:
                for read in job.reads:
                    read.error = read.error or error
                if isinstance(error, RunError):
                    # No stream can get past it (credentials): every read ends with it.
                    for read in self._reads.values():
                        read.error = read.error or error
                    self.close()
            self._done(job)

    def _log_plan(self, job: Job) -> None:
        read = job.read
        if isinstance(job, Probe) and job.head and read.count is not None:
            self._logger.info("%s: ~%s records to read", read.name, f"{read.count:,}")


@dataclass(frozen=True)
class _UnderLock:
    """A job as the transport sees it: its plan changes (a 413's shrink) under the
    reader's lock, as every plan change."""

    job: Job
    lock: threading.Condition

    def blocks(self) -> Sequence[Block]:
        return self.job.blocks()

    def shrink(self) -> int | None:
        with self.lock:
            return self.job.shrink()


def _size(response: StreamResponse) -> int:
    return sum(len(page.raw) for page in response)
