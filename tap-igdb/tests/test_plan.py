"""The plan alone (plan.py): probes, id ranges and pages, from hand-made answers.

No HTTP and no threads: each test builds a stream's read over a fake source, asks
for its jobs, answers them as IGDB would (or would not), and looks at the jobs the
answers lead to. With the settings below a full request holds 20 records (2 pages
of 10), so ranges are 20 records apart, and a probe beside the count asks for up to
9 boundaries: the ids at offsets 19, 39, ..., 179 after its anchor.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import msgspec
import pytest
from tap_igdb.apicalypse import KeysetWindow
from tap_igdb.plan import Job, Opening, Probe, RangeRead, StreamRead, _Cursor
from tap_igdb.responses import RawRecords, Record, skim_records
from tap_igdb.settings import ReadSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tap_igdb.responses import Answer

SETTINGS = ReadSettings(
    page_size=10,
    multiquery_pages=2,
    use_multiquery=True,
    max_open_requests=4,
    requests_per_second=4,
)
PLAIN = replace(SETTINGS, use_multiquery=False)

Window = tuple[int, int | None]
"""A range's ids: (after, upto]; upto None is open-ended."""


@dataclass
class FakeSource:
    """A stream as the plan sees it."""

    name: str = "games"
    fits_one_page: bool = False
    incremental: bool = False
    window: KeysetWindow = field(default_factory=KeysetWindow)
    requested_fields: tuple[str, ...] | None = None

    def read_window(self) -> KeysetWindow:
        return self.window

    def checked_records(self, raw: RawRecords) -> list[Record]:
        return raw.decode()


def records(*ids: int, updated_at: int = 1_700_000_000) -> RawRecords:
    """An answer holding records with these ids."""
    return skim_records(msgspec.json.encode([{"id": i, "updated_at": updated_at} for i in ids]))


def boundary(record_id: int | None) -> RawRecords:
    """A boundary block's answer: the id at its offset, or nothing (past the end)."""
    return records() if record_id is None else records(record_id)


def new_read(
    settings: ReadSettings = SETTINGS,
    *,
    name: str = "games",
    fits_one_page: bool = False,
    incremental: bool = False,
    window: KeysetWindow | None = None,
) -> StreamRead:
    source = FakeSource(name, fits_one_page, incremental, window or KeysetWindow())
    return StreamRead(source, order=0, settings=settings)


def opened(read: StreamRead) -> tuple[Probe, RangeRead]:
    probe, head = read.opening()
    assert isinstance(probe, Probe)
    assert isinstance(head, RangeRead)
    return probe, head


def probe_answers(probe: Probe, count: int, ids: Sequence[int | None]) -> list[Answer]:
    """The probe's answers: `count` for its count block, `ids` for its boundaries."""
    answers: list[Answer] = []
    boundaries = iter(ids)
    for block in probe.blocks():
        if block.name == "count":
            answers.append(count)
        elif block.name == "newest":
            answers.append(records(99, updated_at=1_700_000_500))
        else:
            answers.append(boundary(next(boundaries)))
    return answers


def ranges(jobs: Sequence[Job]) -> list[RangeRead]:
    assert all(isinstance(job, RangeRead | Probe) for job in jobs)
    return [job for job in jobs if isinstance(job, RangeRead)]


def windows(jobs: Sequence[Job]) -> list[Window]:
    return [(job.cursor.window.after_id, job.cursor.window.upto_id) for job in ranges(jobs)]


def bodies(job: Job) -> list[str]:
    return [block.body for block in job.blocks()]


# --- the opening ---------------------------------------------------------------------


def test_the_opening_probe_asks_for_the_count_and_the_boundaries_beside_the_head() -> None:
    read = new_read()
    probe, head = opened(read)

    blocks = probe.blocks()
    assert [(block.endpoint, block.name) for block in blocks[:2]] == [
        ("games/count", "count"),
        ("games", "b1"),
    ]
    assert blocks[0].body == "where id > -1;"
    assert [block.body for block in blocks[1:]] == [
        f"fields id; where id > -1; sort id asc; limit 1; offset {20 * k - 1};"
        for k in range(1, 10)
    ]
    # The head reads the first request's worth without waiting for the probe.
    assert head.cursor.head
    assert bodies(head) == [
        "fields *; where id > -1; sort id asc; limit 10;",
        "fields *; where id > -1; sort id asc; limit 10; offset 10;",
    ]
    assert not read.probed  # no record may go to the SDK before the count is known


def test_an_incremental_opening_asks_for_the_newest_update_first() -> None:
    read = new_read(incremental=True, window=KeysetWindow(updated_since=1_699_000_000))
    probe, _ = opened(read)

    blocks = probe.blocks()
    assert [block.name for block in blocks[:3]] == ["newest", "count", "b1"]
    assert blocks[0].body == (
        "fields updated_at; where updated_at >= 1699000000 & id > -1; "
        "sort updated_at desc; limit 1;"
    )
    assert len(blocks) == 10  # IGDB's most: 8 boundaries left beside newest and count
    probe.answered(probe_answers(probe, 100, [None] * 8))
    assert (read.newest, read.count, read.probed) == (1_700_000_500, 100, True)


# --- range planning from the probe's answers -----------------------------------------


def test_ranges_run_between_the_boundaries_and_the_last_is_open_ended() -> None:
    read = new_read()
    probe, _ = opened(read)

    jobs = probe.answered(probe_answers(probe, 100, [20, 40, 60, 80, None, None, None, None, None]))

    # (-1, 20] is the head's; past the last boundary found, one open-ended range.
    assert windows(jobs) == [(20, 40), (40, 60), (60, 80), (80, None)]
    assert [job.cursor.expected for job in ranges(jobs)] == [20, 20, 20, 20]
    assert [job.rank for job in ranges(jobs)] == [1, 2, 3, 4]
    assert all(job.cursor.splittable for job in ranges(jobs))
    assert read.count == 100


def test_a_probe_that_finds_every_boundary_has_the_rest_probed_from_the_last_one() -> None:
    read = new_read()
    probe, _ = opened(read)

    jobs = probe.answered(probe_answers(probe, 1000, [20 * k for k in range(1, 10)]))

    assert windows(jobs) == [(20 * k, 20 * (k + 1)) for k in range(1, 9)]
    (next_probe,) = [job for job in jobs if isinstance(job, Probe)]
    # Never a deep offset: anchored at the last boundary, ten ranges ahead at most.
    assert bodies(next_probe) == [
        f"fields id; where id > 180; sort id asc; limit 1; offset {20 * k - 1};"
        for k in range(1, 11)
    ]


def test_no_range_is_planned_past_what_the_count_says_is_left() -> None:
    read = new_read()
    probe, _ = opened(read)

    jobs = probe.answered(probe_answers(probe, 40, [20, 40, *[None] * 7]))

    assert windows(jobs) == [(20, 40)]
    assert read.ranges == 1


def test_an_empty_stream_plans_nothing() -> None:
    read = new_read()
    probe, head = opened(read)

    assert probe.answered(probe_answers(probe, 0, [None] * 9)) == []
    assert head.answered([records(), records()]) == []
    assert not read.responses


def test_the_last_range_of_a_counted_span_is_closed_not_followed() -> None:
    """A span whose records the count tells is probed only through its expected end."""
    read = new_read()
    probe, _ = opened(read)
    jobs = probe.answered(probe_answers(probe, 210, [20 * k for k in range(1, 10)]))
    (rest,) = [job for job in jobs if isinstance(job, Probe)]

    # 210 - 9 x 20 = 30 records left after id 180: two ranges' worth, one boundary.
    assert len(rest.blocks()) == 2
    jobs = rest.answered([boundary(200), boundary(None)])
    assert windows(jobs) == [(180, 200), (200, None)]
    assert [job.cursor.expected for job in ranges(jobs)] == [20, 10]


# --- ranges tile the id space, whatever the probes say -------------------------------


def run_plan(
    read: StreamRead, count: int, boundary_ids: Callable[[int], int | None]
) -> list[Window]:
    """Answer every probe (boundaries from `boundary_ids(low)`, `low` the probe's anchor)
    and the head (nothing read, so the first range is planned on its own); the windows
    of every range planned."""
    queue: deque[Job] = deque(read.opening())
    planned: list[Window] = []
    while queue:
        job = queue.popleft()
        if isinstance(job, Probe):
            low = job.span.low if job.span is not None else read.window.after_id
            ids = []
            for _ in range(len(job.blocks())):
                ids.append(boundary_ids(low))
                low = max(low, ids[-1] if ids[-1] is not None else low)
            queue.extend(job.answered(probe_answers(job, count, ids)))
        elif isinstance(job, RangeRead) and job.cursor.head:
            queue.extend(read.head_answered(None, full=True, records=0))
        else:
            assert isinstance(job, RangeRead)
            planned.append((job.cursor.window.after_id, job.cursor.window.upto_id))
    return planned


def erratic_ids(seed: int) -> Callable[[int], int | None]:
    """Boundary ids as a table that changes under the probes might give: mostly further
    on, sometimes the same id again, an id before the anchor, or nothing at all."""
    rng = random.Random(seed)

    def next_id(low: int) -> int | None:
        roll = rng.random()
        if roll < 0.05:
            return None
        if roll < 0.15:
            return low
        if roll < 0.25:
            return max(low - rng.randint(1, 50), 0)
        return low + rng.randint(1, 60)

    return next_id


@pytest.mark.parametrize("settings", [SETTINGS, PLAIN], ids=["multiquery", "plain"])
@pytest.mark.parametrize("seed", range(20))
def test_ranges_tile_the_id_space_with_no_gap_or_overlap(settings: ReadSettings, seed: int) -> None:
    planned = run_plan(new_read(settings), count=10**6, boundary_ids=erratic_ids(seed))

    planned.sort(key=lambda window: window[0])
    assert planned[0][0] == -1
    for (_, upto), (after, _) in itertools.pairwise(planned):
        assert upto == after, planned
    assert planned[-1][1] is None  # the count says there is more: the last range is open
    assert all(upto is None or after < upto for after, upto in planned)


# --- the head request and the rest of the first range --------------------------------


def test_a_head_request_that_read_the_first_range_leaves_nothing_of_it() -> None:
    read = new_read()
    probe, head = opened(read)
    probe.answered(probe_answers(probe, 100, [20, 40, 60, 80, *[None] * 5]))

    assert head.answered([records(*range(1, 11)), records(*range(11, 21))]) == []
    assert [page.size for page in read.responses[0]] == [10, 10]


def test_what_the_head_request_did_not_reach_of_the_first_range_is_read_after_it() -> None:
    """The head came back full before the first boundary (records were added below it)."""
    read = new_read()
    probe, head = opened(read)
    probe.answered(probe_answers(probe, 100, [25, 45, 65, 85, *[None] * 5]))

    jobs = head.answered([records(*range(1, 11)), records(*range(11, 21))])

    assert windows(jobs) == [(20, 25)]
    assert jobs[0].rank == 0  # read with the head's priority
    assert ranges(jobs)[0].cursor.expected == 0
    assert not ranges(jobs)[0].cursor.splittable


def test_a_head_request_that_saw_fewer_records_than_the_probe_reads_the_rest() -> None:
    read = new_read()
    probe, head = opened(read)
    probe.answered(probe_answers(probe, 100, [20, 40, 60, 80, *[None] * 5]))

    jobs = head.answered([records(*range(1, 11)), records(11, 12, 13, 14, 15)])

    assert windows(jobs) == [(15, 20)]
    assert ranges(jobs)[0].cursor.expected == 5


def test_the_head_request_may_come_back_before_the_probe() -> None:
    read = new_read()
    probe, head = opened(read)

    assert head.answered([records(*range(1, 11)), records(*range(11, 21))]) == []
    jobs = probe.answered(probe_answers(probe, 100, [30, 50, 70, 90, *[None] * 5]))

    assert windows(jobs) == [(20, 30), (30, 50), (50, 70), (70, 90), (90, None)]
    assert ranges(jobs)[0].rank == 0


def test_a_head_request_that_read_everything_leaves_nothing() -> None:
    read = new_read()
    probe, head = opened(read)
    assert probe.answered(probe_answers(probe, 12, [None] * 9)) == []

    assert head.answered([records(*range(1, 11)), records(11, 12)]) == []


# --- pages per request ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("upto", "expected", "pages"),
    [
        (None, None, 4),  # nothing known: a full request
        (40, 20, 2),  # a closed range of 20: two pages
        (None, 20, 3),  # an open one: one more, to see its end
        (40, 25, 3),  # a part page is still a page
        (40, 0, 1),  # at least one
        (None, 100, 4),  # never more than a request holds
    ],
)
def test_pages_for_a_range(upto: int | None, expected: int | None, pages: int) -> None:
    read = new_read(replace(SETTINGS, multiquery_pages=4))
    cursor = _Cursor(KeysetWindow(after_id=20, upto_id=upto), expected, rank=1)

    assert read.pages_for(cursor) == pages


def test_a_range_reads_as_many_pages_as_it_expects() -> None:
    read = new_read()
    probe, _ = opened(read)
    jobs = probe.answered(probe_answers(probe, 75, [20, 40, 60, *[None] * 6]))
    last = ranges(jobs)[-1]

    assert (last.cursor.window.after_id, last.cursor.expected) == (60, 15)
    assert bodies(last) == [
        "fields *; where id > 60; sort id asc; limit 10;",
        "fields *; where id > 60; sort id asc; limit 10; offset 10;",
    ]


def test_a_range_that_grew_is_followed_from_its_last_id_to_its_end() -> None:
    read = new_read()
    probe, _ = opened(read)
    jobs = probe.answered(probe_answers(probe, 100, [100, 200, 300, *[None] * 6]))
    first = ranges(jobs)[0]  # (100, 200], 20 records when probed

    (more,) = ranges(first.answered([records(*range(101, 111)), records(*range(111, 121))]))
    assert (more.cursor.window.after_id, more.cursor.window.upto_id) == (120, 200)
    assert (more.cursor.expected, more.rank) == (0, first.rank)
    assert bodies(more) == ["fields *; where id > 120 & id <= 200; sort id asc; limit 10;"]
    assert more.answered([records(150)]) == []  # not full: the range's end


# --- splitting a range when the source is latency-bound ------------------------------


def test_a_latency_bound_range_is_split_by_a_probe_into_pieces_of_its_rank() -> None:
    read = new_read()
    probe, _ = opened(read)
    jobs = probe.answered(probe_answers(probe, 100, [20, 40, 60, 80, *[None] * 5]))
    second = ranges(jobs)[1]  # (40, 60], rank 2
    planned = read.ranges

    split = read.split(second, spacing=10)

    assert isinstance(split, Probe)
    assert read.ranges == planned - 1
    assert bodies(split) == [
        "fields id; where id > 40 & id <= 60; sort id asc; limit 1; offset 9;",
        "fields id; where id > 40 & id <= 60; sort id asc; limit 1; offset 19;",
    ]
    pieces = split.answered([boundary(50), boundary(60)])
    assert windows(pieces) == [(40, 50), (50, 60)]
    assert [piece.rank for piece in ranges(pieces)] == [2, 2]
    assert not any(piece.cursor.splittable for piece in ranges(pieces))
    assert read.ranges == planned + 1


def test_a_split_range_that_shrank_meanwhile_still_covers_its_ids() -> None:
    read = new_read()
    probe, _ = opened(read)
    second = ranges(probe.answered(probe_answers(probe, 100, [20, 40, 60, 80, *[None] * 5])))[1]

    pieces = read.split(second, spacing=10).answered([boundary(55), boundary(None)])

    assert windows(pieces) == [(40, 55), (55, 60)]


def test_a_split_range_is_read_to_its_end_though_its_boundaries_come_early() -> None:
    """Its expected records all before the end (records moved): the rest is a range too."""
    read = new_read()
    probe, _ = opened(read)
    second = ranges(probe.answered(probe_answers(probe, 100, [20, 40, 60, 80, *[None] * 5])))[1]

    pieces = read.split(second, spacing=10).answered([boundary(50), boundary(55)])

    assert windows(pieces) == [(40, 50), (50, 55), (55, 60)]
    assert ranges(pieces)[-1].cursor.expected == 0


# --- small streams, opened together ---------------------------------------------------


def test_small_streams_share_one_opening_and_one_larger_than_a_page_is_paged_on() -> None:
    genres = new_read(name="genres", fits_one_page=True)
    themes = new_read(name="themes", fits_one_page=True)
    opening = Opening([genres, themes])

    assert [(block.endpoint, block.name, block.body) for block in opening.blocks()] == [
        ("genres", "genres", "fields *; where id > -1; sort id asc; limit 10;"),
        ("themes", "themes", "fields *; where id > -1; sort id asc; limit 10;"),
    ]
    (more,) = opening.answered([records(*range(10)), records(1, 2, 3)])

    # genres filled its page: read on after its last id, a request at a time.
    assert more.read is genres
    assert isinstance(more, RangeRead)
    assert (more.cursor.window.after_id, more.cursor.window.upto_id) == (9, None)
    assert (more.cursor.expected, more.rank, more.cursor.splittable) == (None, 1, False)
    assert (genres.count, genres.ranges, themes.count, themes.ranges) == (10, 1, 3, 0)
    assert [page.size for response in genres.responses for page in response] == [10]
    assert [page.size for response in themes.responses for page in response] == [3]


def test_an_empty_small_stream_hands_over_no_response() -> None:
    genres = new_read(name="genres", fits_one_page=True)

    assert Opening([genres]).answered([records()]) == []
    assert (genres.count, list(genres.responses)) == (0, [])


# --- 413: fewer records per page ------------------------------------------------------


def test_a_413_halves_the_page_size_down_to_one_record() -> None:
    read = new_read()
    _, head = opened(read)

    sizes = []
    while (size := head.shrink()) is not None:
        sizes.append(size)
        head.blocks()  # sent again at the new size
    assert sizes == [5, 2, 1]
    assert bodies(head) == [
        "fields *; where id > -1; sort id asc; limit 1;",
        "fields *; where id > -1; sort id asc; limit 1; offset 1;",
    ]
    assert read.page_size == 1


def test_two_requests_too_large_at_one_size_halve_it_once() -> None:
    read = new_read()
    probe, head = opened(read)
    (first, *_) = ranges(probe.answered(probe_answers(probe, 100, [20, 40, *[None] * 7])))
    head.blocks()
    first.blocks()  # both sent with 10 records per page

    assert head.shrink() == 5
    assert first.shrink() == 5
    assert read.page_size == 5


def test_a_413_on_the_opening_halves_every_small_streams_page() -> None:
    genres = new_read(name="genres", fits_one_page=True)
    themes = new_read(name="themes", fits_one_page=True)
    opening = Opening([genres, themes])
    opening.blocks()

    assert opening.shrink() == 5
    assert (genres.page_size, themes.page_size) == (5, 5)
    assert "limit 5;" in opening.blocks()[1].body
    sizes = []
    while (size := opening.shrink()) is not None:
        sizes.append(size)
        opening.blocks()  # sent again at the new size
    assert sizes == [2, 1]


def test_a_probe_is_never_resized() -> None:
    probe, _ = opened(new_read())
    assert probe.shrink() is None


# --- without multiquery ---------------------------------------------------------------


def test_without_multiquery_the_count_then_ranges_of_a_share_of_the_stream() -> None:
    read = new_read(PLAIN, incremental=True)
    probe, head = opened(read)

    assert [block.name for block in probe.blocks()] == ["newest"]
    (count,) = probe.answered(probe_answers(probe, 200, []))
    assert isinstance(count, Probe)
    assert [block.name for block in count.blocks()] == ["count"]
    assert bodies(head) == ["fields *; where id > -1; sort id asc; limit 10;"]

    (cut,) = count.answered([200])
    # 200 records over 2 x 4 workers: 25 a range, in whole pages: 30.
    assert isinstance(cut, Probe)
    assert bodies(cut) == ["fields id; where id > -1; sort id asc; limit 1; offset 29;"]
    (next_cut,) = cut.answered([boundary(30)])  # (-1, 30] is the head's
    assert bodies(next_cut) == ["fields id; where id > 30; sort id asc; limit 1; offset 29;"]
