"""The run-wide reader: what it asks IGDB for, in what order, and how much it holds.

Request counts are exact here: every request costs a start slot at IGDB's 4 per
second, so a plan that needs more of them is slower, not only busier.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec
import pytest
from igdb_emulator import Dataset, Emulator, EmulatorConfig, LatencyModel, LoggedRequest
from igdb_emulator.pytest_plugin import EmulatorFactory
from tap_igdb import reader as reader_module
from tap_igdb.apicalypse import Block, KeysetWindow
from tap_igdb.errors import IGDBAPIError
from tap_igdb.limiter import RequestLimiter
from tap_igdb.reader import RunReader
from tap_igdb.responses import Answer, RawRecords, Record, skim_records
from tap_igdb.settings import ReadSettings
from tap_igdb.transport import Resizable

if TYPE_CHECKING:
    from conftest import EmulatorSettings, RunTap

FAST = {"requests_per_second": 100}
GAMES = 3000


def requests_for(log: Sequence[LoggedRequest], stream: str) -> list[str]:
    """Bodies of the API requests that mention `stream`, in the order they started."""
    entries = sorted((entry for entry in log if f"query {stream} " in entry.body), key=_start)
    return [entry.body for entry in entries]


def _start(entry: LoggedRequest) -> float:
    return entry.time


def record_blocks(body: str) -> list[str]:
    return re.findall(r'"p\d+" \{ (fields \*;[^}]*)\}', body)


@pytest.fixture
def games_emulator(igdb_emulator_factory: EmulatorFactory) -> Emulator:
    return igdb_emulator_factory(
        dataset=Dataset.generate(games=GAMES, seed=11), config=EmulatorConfig.unthrottled()
    )


def test_a_large_stream_costs_one_probe_and_one_request_per_range(
    games_emulator: Emulator, emulator_config: EmulatorSettings, run_tap: RunTap
) -> None:
    emu = games_emulator
    # 400 records per request (4 pages of 100): 3,000 games are 8 requests at best.
    config = emulator_config(emu, **FAST, page_size=100, multiquery_pages=4)
    run = run_tap(config, streams=["games"])

    truth = emu.truth("games")
    assert sorted(run.records("games"), key=lambda r: r["id"]) == truth
    assert len({r["id"] for r in run.records("games")}) == GAMES
    bodies = requests_for(emu.request_log, "games")
    probes = [body for body in bodies if '"count"' in body or '"b1"' in body]
    reads = [body for body in bodies if record_blocks(body)]
    assert len(probes) == 1
    assert len(reads) == 8
    assert len(bodies) == 9


def test_probes_start_from_the_last_boundary_found_never_deep(
    games_emulator: Emulator, emulator_config: EmulatorSettings, run_tap: RunTap
) -> None:
    emu = games_emulator
    # 100 records per request: 30 ranges, more boundaries than one probe can ask for.
    config = emulator_config(emu, **FAST, page_size=50, multiquery_pages=2)
    run = run_tap(config, streams=["games"])

    assert len({r["id"] for r in run.records("games")}) == GAMES
    bodies = requests_for(emu.request_log, "games")
    offsets = [
        int(offset)
        for body in bodies
        for offset in re.findall(r'"b\d+" \{ fields id; [^}]*offset (\d+);', body)
    ]
    assert len(offsets) >= 29
    assert max(offsets) <= 10 * 100 - 1  # ten ranges ahead of the probe's anchor at most
    assert len([body for body in bodies if record_blocks(body)]) == 30


def test_later_streams_are_requested_while_the_first_is_still_read(
    igdb_emulator_factory: EmulatorFactory, emulator_config: EmulatorSettings, run_tap: RunTap
) -> None:
    emu = igdb_emulator_factory(
        dataset=Dataset.generate(games=GAMES, seed=11),
        config=EmulatorConfig(latency=LatencyModel.flat(0.3)),
    )
    config = emulator_config(emu, page_size=100, multiquery_pages=4)
    run_tap(config, streams=["games", "involved_companies", "genres"])

    log = emu.request_log
    api = [entry for entry in log if entry.endpoint != "oauth2/token"]
    # The order of the starts only: their spacing is the limiter's (test_limiter.py, on a
    # fake clock). IGDB's limit is kept, and a 429 it gives when a busy machine bunches
    # the arrivals is retried without changing which stream was asked first.
    games_last = max(entry.time for entry in api if "query games " in entry.body)
    involved_first = min(entry.time for entry in api if "query involved_companies " in entry.body)
    assert involved_first < games_last
    # The lookup's page went out with the first requests, not after both large streams.
    genres_first = min(entry.time for entry in api if "query genres " in entry.body)
    assert genres_first < games_last


@pytest.mark.parametrize(
    ("latency", "split"),
    [
        # 0.4 s for a full request, mostly per record: the last ranges are split.
        (LatencyModel.per_page(base=0.01, per_record=0.004), True),
        # 0.2 s whatever a request holds: splitting would only cost requests.
        (LatencyModel.flat(0.2), False),
    ],
    ids=["per-record latency", "flat latency"],
)
def test_the_last_ranges_are_split_only_when_records_cost_the_time(
    igdb_emulator_factory: EmulatorFactory,
    emulator_config: EmulatorSettings,
    run_tap: RunTap,
    latency: LatencyModel,
    split: bool,
) -> None:
    emu = igdb_emulator_factory(
        dataset=Dataset.generate(games=GAMES, seed=11),
        config=EmulatorConfig.unthrottled(latency=latency),
    )
    config = emulator_config(emu, **FAST, page_size=50, multiquery_pages=2)
    run = run_tap(config, streams=["games"])

    assert len({r["id"] for r in run.records("games")}) == GAMES
    assert len(run.records("games")) == GAMES
    reads = [body for body in requests_for(emu.request_log, "games") if record_blocks(body)]
    closed_one_page = [body for body in reads if len(record_blocks(body)) == 1 and "id <=" in body]
    assert bool(closed_one_page) is split


# --- the reader alone, over an in-memory source --------------------------------------


class MemorySource:
    """A stream of records with ids 1..n, and how its fake IGDB answers."""

    fits_one_page = False
    incremental = False
    requested_fields: tuple[str, ...] | None = None

    def __init__(
        self, name: str, records: int, *, delay: float = 0.0, probe_delay: float = 0.0
    ) -> None:
        self.name = name
        self.records: list[Record] = [
            {"id": i, "updated_at": 1_700_000_000 + i, "blob": "x" * 200}
            for i in range(1, records + 1)
        ]
        self.delay = delay
        self.probe_delay = probe_delay
        self.fail: Exception | None = None
        self.answered = 0
        self.lock = threading.Lock()

    def read_window(self) -> KeysetWindow:
        return KeysetWindow()

    def checked_records(self, raw: RawRecords) -> list[Record]:
        return raw.decode()

    def answer(self, blocks: Sequence[Block]) -> list[Answer]:
        """Apicalypse blocks answered from the records."""
        probe = any(block.name == "count" for block in blocks)
        time.sleep(self.probe_delay if probe else self.delay)  # the fake IGDB's latency
        if self.fail is not None:
            raise self.fail
        answers: list[Answer] = []
        for block in blocks:
            if block.name == "newest":
                newest = max(self.records, key=lambda r: r["updated_at"])
                answers.append(skim_records(msgspec.json.encode([newest])))
                continue
            after = int(re.findall(r"id > (-?\d+)", block.body)[0])
            upto = re.findall(r"id <= (\d+)", block.body)
            high = int(upto[0]) if upto else len(self.records)
            matching = [r for r in self.records if after < r["id"] <= high]
            if block.endpoint.endswith("/count"):
                answers.append(len(matching))
                continue
            limit = int(re.findall(r"limit (\d+)", block.body)[0])
            offset = int((re.findall(r"offset (\d+)", block.body) or ["0"])[0])
            page = matching[offset : offset + limit]
            answers.append(skim_records(msgspec.json.encode(page)))
        with self.lock:
            self.answered += 1
        return answers


class MemoryTransport:
    """Each request answered by the source its blocks belong to."""

    def __init__(self, sources: Sequence[MemorySource]) -> None:
        self.sources = {source.name: source for source in sources}
        self.last = threading.local()

    def fetch(self, request: Resizable) -> list[Answer]:
        blocks = request.blocks()
        source = self.sources[blocks[0].endpoint.removesuffix("/count")]
        self.last.source = source
        return source.answer(blocks)

    def exchange_seconds(self) -> float:
        return float(self.last.source.delay)


def memory_reader(*sources: MemorySource, workers: int = 4) -> RunReader:
    settings = ReadSettings(
        page_size=100,
        multiquery_pages=10,
        use_multiquery=True,
        max_open_requests=workers,
        requests_per_second=1000,
    )
    limiter = RequestLimiter(1000, workers, margin_seconds=0.0)
    return RunReader(settings, limiter, MemoryTransport(sources), logging.getLogger("test"))


def test_read_ahead_waits_within_its_budget_while_the_main_thread_is_slow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page_bytes = len(msgspec.json.encode([{"id": 1, "blob": "x" * 200}])) * 1000
    monkeypatch.setattr(reader_module, "BUFFERED_BYTES", 3 * page_bytes)
    first, second = MemorySource("first", 10_000), MemorySource("second", 10_000)
    reader = memory_reader(first, second, workers=4)
    reader.open([first, second])

    deadline = time.monotonic() + 10
    while first.answered + second.answered < 4 and time.monotonic() < deadline:
        time.sleep(0.01)  # polling the read-ahead's start; the deadline bounds the wait
    assert first.answered + second.answered >= 4, "the read-ahead never started"
    time.sleep(0.5)  # the main thread stays busy: the read-ahead must stop at its budget
    assert first.answered + second.answered <= 4 + 4  # budget (3 pages, +1) and probes
    records = 0
    for source in (first, second):
        for response in reader.responses(source):
            records += sum(page.size for page in response)
    assert records == 20_000


def test_a_failed_request_stops_the_stream_when_the_sdk_reaches_it() -> None:
    first, second = MemorySource("first", 3_000), MemorySource("second", 3_000)
    reader = memory_reader(first, second)
    second.fail = IGDBAPIError("second: IGDB answered 400 Invalid Field")
    reader.open([first, second])

    assert sum(page.size for response in reader.responses(first) for page in response) == 3_000
    with pytest.raises(IGDBAPIError, match="second: IGDB answered 400"):
        list(reader.responses(second))


def test_an_incremental_stream_hands_over_records_only_once_its_newest_update_is_known() -> None:
    """The bookmark's cap (the SDK's signpost) must be set before the first record."""
    source = MemorySource("games", 3_000, probe_delay=0.5)
    source.incremental = True
    reader = memory_reader(source)
    reader.open([source])
    read = reader.read(source)

    first = next(iter(reader.responses(source)))
    assert first
    assert read.newest == 1_700_003_000
