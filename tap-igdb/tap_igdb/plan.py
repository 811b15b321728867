"""What to ask IGDB for, stream by stream: probes, id ranges and pages (no threads here).

- The small lookup streams (`fits_one_page`) share one opening multiquery, one block
  each, instead of one round trip each.
- Every other stream opens with a probe: its count, its newest `updated_at` (the
  bookmark's cap) and the ids at every S-th offset, S being the records one request
  holds. Those ids cut the stream into id ranges of S records, each read by one
  request. A probe asks for at most ten ids; the next probe starts from the last id
  the previous one found, so no probe pays for a deep offset.
- The first range needs no probe: its first request (the first S records) goes out
  with the probe, and only what the probe shows beyond it is read after.
- A range that grew since its probe (records added while the run reads) is followed
  with keyset paging to its end; the last range is open-ended.

Ranges tile the stream's id space whatever the probes return, so records that move
never make the tap skip one: the probes only decide how evenly work is spread. A read
covers the records present when its probe ran; records added later may be read now,
and are read by the next run (the bookmark stays at the probe's newest `updated_at`).

Every method here runs under the reader's lock (reader.py).
"""

from __future__ import annotations

import itertools
import math
import typing as t
from collections import deque
from dataclasses import dataclass, replace

from typing_extensions import override

from tap_igdb.apicalypse import (
    Block,
    KeysetWindow,
    boundary_body,
    count_body,
    newest_body,
    records_body,
)
from tap_igdb.errors import IGDBAPIError
from tap_igdb.responses import Answer, RawRecords, Record
from tap_igdb.settings import ReadSettings

if t.TYPE_CHECKING:
    from collections.abc import Sequence

StreamResponse = list[RawRecords]
"""What one response holds for one stream: its pages (the records of each block),
in block order. One multiquery response may hold several streams' (the opening one)."""


class Source(t.Protocol):
    """What a read needs of its stream: its name, kind, fields, where to start, and its
    records decoded and checked."""

    @property
    def name(self) -> str: ...

    @property
    def fits_one_page(self) -> bool: ...

    @property
    def incremental(self) -> bool: ...

    @property
    def requested_fields(self) -> tuple[str, ...] | None:
        """The fields its pages ask for (None: `fields *`, every field IGDB has)."""
        ...

    def read_window(self) -> KeysetWindow:
        """The part of the endpoint this run reads (`updated_at >= ...` when incremental)."""
        ...

    def checked_records(self, raw: RawRecords) -> list[Record]:
        """An answer's records, decoded and type-checked against the stream's schema."""
        ...


@dataclass(frozen=True)
class _Cursor:
    """Where a range's next request starts, and how many records it still expects."""

    window: KeysetWindow
    expected: int | None
    rank: int
    splittable: bool = True
    """No request of the range went out yet, and it is not itself a piece of a split."""
    head: bool = False
    """The stream's first request, sent before the probe told where the first range ends."""


@dataclass(frozen=True)
class _Span:
    """Ids in (low, high] (high None: open-ended), about `expected` records, to be cut
    into ranges of `spacing` records."""

    low: int
    high: int | None
    expected: int | None
    spacing: int
    rank: int | None = None
    """The rank its ranges take (None: a new rank each, in id order)."""


class StreamRead:
    """One stream's read: its plan, its progress, the responses waiting for the SDK."""

    def __init__(self, source: Source, order: int, settings: ReadSettings) -> None:
        self.source = source
        self.order = order
        self.settings = settings
        self.window = source.read_window()
        self.fields = source.requested_fields
        """What every page of the read asks for (probes ask for what they need)."""
        self.page_size = settings.page_size
        self.count: int | None = None
        self.newest: int | None = None
        self.ranges = 0
        self.responses: deque[StreamResponse] = deque()
        self.error: BaseException | None = None
        self.cancelled = False
        self.probed = True
        """Count and newest update known: its records may go to the SDK (the newest
        update caps the bookmark, so it must be known before the first record)."""
        self.jobs = 0  # queued or running
        self.in_flight = 0
        self._probes = 0  # probes whose answer may still open ranges
        self._ranks = itertools.count(1)
        # The head request and the first range's end, matched once both are known.
        self._head: tuple[int | None, bool, int] | None = None  # last id, full, records
        self._first: tuple[int | None, int | None] | None = None  # end, expected
        self._has_head = False

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def finished(self) -> bool:
        """Every request made and answered (its responses may still wait in `responses`)."""
        return self._probes == 0 and self.jobs == 0

    @property
    def ready(self) -> bool:
        """A response waits, and may go to the SDK (the probe came back)."""
        return bool(self.responses) and self.probed

    @property
    def stopped(self) -> bool:
        return self.cancelled or self.error is not None

    # --- planning ---------------------------------------------------------------------

    def opening(self) -> list[Job]:
        """The probe (newest update, count and, with multiquery, the first boundaries),
        and the first request for records, which needs no probe."""
        head: list[Block] = []
        if self.source.incremental:
            head.append(Block(self.name, "newest", newest_body(self.window)))
        head.append(Block(f"{self.name}/count", "count", count_body(self.window)))
        self._has_head = True
        self.probed = False
        first = RangeRead(self, _Cursor(self.window, None, rank=0, splittable=False, head=True))
        if not self.settings.use_multiquery:
            # One block per request: the newest update, then the count, then boundaries.
            return [self._probe(head), first]
        span = _Span(self.window.after_id, None, None, self.settings.records_per_request)
        return [
            self._probe(head, span, boundaries=self.settings.blocks_per_request - len(head)),
            first,
        ]

    def _probe(self, head: list[Block], span: _Span | None = None, boundaries: int = 0) -> Probe:
        self._probes += 1
        return Probe(self, head, span, boundaries)

    def probe_answered(self, probe: Probe, answers: list[Answer]) -> list[Job]:
        """Take in a probe's answers; the requests they lead to."""
        self._probes -= 1
        blocks = probe.blocks()
        for block, answer in zip(blocks, answers, strict=True):
            self.learn(block.name, answer)
        if not self.settings.use_multiquery and probe.head:
            rest = probe.head[1:]
            return [self._probe(rest)] if rest else self.plan_after_count()
        if probe.span is None:
            return []
        ids = [
            _as_records(self.name, answer).last_id
            for block, answer in zip(blocks, answers, strict=True)
            if block.name.startswith("b")
        ]
        return self.cut_answered(probe.span, ids)

    def learn(self, name: str, answer: Answer) -> None:
        """Take in a probe's `count` or `newest` answer."""
        if name == "count":  # asked for after the newest update, or with it
            self.count = _as_count(self.name, answer)
            self.probed = True
        elif name == "newest":
            newest = self.source.checked_records(_as_records(self.name, answer))
            has_one = bool(newest) and "updated_at" in newest[0]
            self.newest = int(newest[0]["updated_at"]) if has_one else None

    def plan_after_count(self) -> list[Job]:
        """Without multiquery: cut the stream into ranges of ~1/(2 x workers) of it."""
        assert self.count is not None
        if self.count == 0:
            return []
        per_range = math.ceil(self.count / (2 * self.settings.max_open_requests))
        spacing = max(self.page_size, math.ceil(per_range / self.page_size) * self.page_size)
        return self._cut(_Span(self.window.after_id, None, self.count, spacing))

    def _cut(self, span: _Span) -> list[Job]:
        """One range if the span holds one range's worth, else a probe for its boundaries,
        through its expected end (so the last range is closed, not followed to see its end)."""
        if span.expected is not None and span.expected <= span.spacing:
            return self._range(span.low, span.high, span.expected, span.rank)
        ends = self.settings.blocks_per_request
        if span.expected is not None:
            ends = min(ends, math.ceil(span.expected / span.spacing))
        return [self._probe([], span, boundaries=ends)]

    def cut_answered(self, span: _Span, ids: list[int | None]) -> list[Job]:
        """Ranges between the boundaries a probe found; the rest of the span cut next."""
        expected = span.expected if span.expected is not None else self.count
        if span.expected is None and self.count == 0:
            return []  # nothing matched: no range to read
        jobs: list[Job] = []
        low = span.low
        for found, boundary in enumerate(ids):
            if boundary is None:
                # Past the end: what remains is one range to the span's end.
                left = None if expected is None else max(expected - found * span.spacing, 0)
                if left == 0 and span.high is None:
                    return jobs  # the count says nothing is left after the last boundary
                return jobs + self._range(low, span.high, left, span.rank)
            if boundary > low:
                jobs += self._range(low, boundary, span.spacing, span.rank)
                low = boundary
        left = None if expected is None else expected - len(ids) * span.spacing
        if left is not None and left <= 0 and (span.high is None or low >= span.high):
            return jobs  # the count says nothing is left after the last boundary
        rest = replace(span, low=low, expected=left)
        return jobs + self._cut(rest)

    def _range(
        self, low: int, high: int | None, expected: int | None, rank: int | None
    ) -> list[Job]:
        if self._has_head and self._first is None and low == self.window.after_id:
            self._first = (high, expected)  # the head request reads this range's start
            return self._rest_of_first_range()
        self.ranges += 1
        window = replace(self.window, after_id=low, upto_id=high)
        if rank is not None:  # a piece of a split range: never split again
            return [RangeRead(self, _Cursor(window, expected, rank, splittable=False))]
        return [RangeRead(self, _Cursor(window, expected, next(self._ranks)))]

    def head_answered(self, last_id: int | None, full: bool, records: int) -> list[Job]:
        """The head request came back: read the rest of the first range, if any."""
        self._head = (last_id, full, records)
        return self._rest_of_first_range()

    def _rest_of_first_range(self) -> list[Job]:
        """What the head request did not read of the first range (once both are known):
        nothing, normally; more if the range grew, or the head saw fewer records than
        the probe (records changed between the two)."""
        if self._head is None or self._first is None:
            return []
        (last, full, records), (end, expected) = self._head, self._first
        low = self.window.after_id if last is None else last
        if not full and end is None:
            return []  # the head read everything there was
        if end is not None and low >= end:
            return []  # the head read the whole first range
        left = None if expected is None else max(expected - records, 0)
        self.ranges += 1
        window = replace(self.window, after_id=low, upto_id=end)
        return [RangeRead(self, _Cursor(window, left, rank=0, splittable=False))]

    def split(self, job: RangeRead, spacing: int) -> Job:
        """A fresh range cut into ranges of `spacing` records by a probe (see reader.py)."""
        window = job.cursor.window
        span = _Span(window.after_id, window.upto_id, job.cursor.expected, spacing, job.rank)
        self.ranges -= 1
        (probe,) = self._cut(span)
        assert isinstance(probe, Probe)
        return probe

    def pages_for(self, cursor: _Cursor) -> int:
        """Pages for a range's next request: what it still expects, one more to see an
        open range's end, and at least one."""
        if cursor.expected is None:
            return self.settings.pages_per_request
        pages = math.ceil(cursor.expected / self.page_size)
        if cursor.window.upto_id is None and cursor.expected % self.page_size == 0:
            pages += 1
        return max(1, min(self.settings.pages_per_request, pages))


# --- jobs: one request each ------------------------------------------------------------


class Job:
    """One request; `read` owns its priority and its share of the page budget."""

    rank = 0

    def __init__(self, read: StreamRead) -> None:
        self.read = read

    @property
    def reads(self) -> tuple[StreamRead, ...]:
        return (self.read,)

    @property
    def dropped(self) -> bool:
        return all(read.stopped for read in self.reads)

    def blocks(self) -> list[Block]:
        raise NotImplementedError

    def shrink(self) -> int | None:
        """After a 413: halve the records per page; the new page size, or None when
        it is one record already."""
        return None

    def answered(self, answers: list[Answer]) -> list[Job]:
        """Take in the answers; the requests they lead to."""
        raise NotImplementedError


class Opening(Job):
    """The first page of several small streams, one block each."""

    def __init__(self, reads: Sequence[StreamRead]) -> None:
        super().__init__(reads[0])
        self._reads = tuple(reads)
        self._page_size = reads[0].page_size

    @property
    @override
    def reads(self) -> tuple[StreamRead, ...]:
        return self._reads

    @override
    def blocks(self) -> list[Block]:
        self._page_size = min(read.page_size for read in self._reads)
        return [
            Block(
                read.name,
                read.name,
                records_body(read.window, limit=self._page_size, fields=read.fields),
            )
            for read in self._reads
        ]

    @override
    def shrink(self) -> int | None:
        if self._page_size <= 1:
            return None
        for read in self._reads:
            read.page_size = self._page_size // 2
        return self._page_size // 2

    @override
    def answered(self, answers: list[Answer]) -> list[Job]:
        jobs: list[Job] = []
        for read, answer in zip(self._reads, answers, strict=True):
            records = _as_records(read.name, answer)
            read.count = records.size
            if records.size:
                read.responses.append([records])
            if records.size >= self._page_size and records.last_id is not None:
                # Not so small after all: page on from the last id.
                read.ranges = 1
                window = read.window.after(records.last_id)
                cursor = _Cursor(window, None, rank=1, splittable=False)
                jobs.append(RangeRead(read, cursor))
        return jobs


class Probe(Job):
    """A stream's count and newest update, and/or the boundaries that cut a span."""

    def __init__(
        self, read: StreamRead, head: list[Block], span: _Span | None, boundaries: int
    ) -> None:
        super().__init__(read)
        self.head = head
        """Count and newest-update blocks (without multiquery: sent one per request)."""
        self.span = span
        self._boundaries = boundaries if span is not None else 0

    @override
    def blocks(self) -> list[Block]:
        if not self.read.settings.use_multiquery and self.head:
            return self.head[:1]
        asks = list(self.head)
        if self.span is not None:
            window = replace(self.read.window, after_id=self.span.low, upto_id=self.span.high)
            asks += [
                Block(self.read.name, f"b{k}", boundary_body(window, k * self.span.spacing - 1))
                for k in range(1, self._boundaries + 1)
            ]
        return asks

    @override
    def answered(self, answers: list[Answer]) -> list[Job]:
        return self.read.probe_answered(self, answers)


class RangeRead(Job):
    """The next request of one id range: up to `pages` pages after its cursor."""

    def __init__(self, read: StreamRead, cursor: _Cursor) -> None:
        super().__init__(read)
        self.cursor = cursor
        self.rank = cursor.rank
        self._page_size = read.page_size

    @override
    def blocks(self) -> list[Block]:
        self._page_size = self.read.page_size
        window = self.cursor.window
        return [
            Block(
                self.read.name,
                f"p{k}",
                records_body(
                    window,
                    limit=self._page_size,
                    offset=k * self._page_size,
                    fields=self.read.fields,
                ),
            )
            for k in range(self.read.pages_for(self.cursor))
        ]

    @override
    def shrink(self) -> int | None:
        if self._page_size <= 1:
            return None
        self.read.page_size = min(self.read.page_size, self._page_size // 2)
        return self.read.page_size

    @override
    def answered(self, answers: list[Answer]) -> list[Job]:
        blocks = [_as_records(self.read.name, answer) for answer in answers]
        pages = [block for block in blocks if block.size]
        if pages:
            self.read.responses.append(pages)
        full = all(block.size >= self._page_size for block in blocks)
        if self.cursor.head:
            got = sum(block.size for block in blocks)
            return self.read.head_answered(pages[-1].last_id if pages else None, full, got)
        last = blocks[-1].last_id
        upto = self.cursor.window.upto_id
        if not full or last is None or (upto is not None and last >= upto):
            return []
        got = sum(block.size for block in blocks)
        expected = self.cursor.expected
        cursor = _Cursor(
            self.cursor.window.after(last),
            None if expected is None else max(expected - got, 0),
            self.rank,
            splittable=False,
        )
        return [RangeRead(self.read, cursor)]


def _as_records(stream: str, answer: Answer) -> RawRecords:
    if not isinstance(answer, RawRecords):
        msg = f"{stream}: expected records from IGDB, got a count"
        raise IGDBAPIError(msg)
    return answer


def _as_count(stream: str, answer: Answer) -> int:
    if not isinstance(answer, int):
        msg = f"{stream}: expected a count from IGDB, got records"
        raise IGDBAPIError(msg)
    return answer
