"""Crash and rerun: kill -9 the tap, the target or dbt mid-run, then rerun the same command.

The test of the exactly-once effect (docs/architecture.md): whatever moment a
plugin dies at, the lake it leaves is consistent (every listed file complete,
no temporary file listed, no saved bookmark ahead of the listed records) and
the rerun of `meltano run tap-igdb target-s3 dbt-duckdb:run` builds dim_games
equal to the source, row for row, with no game twice.

The raw layer is at-least-once: a record the killed run listed may be listed
again by the rerun, which re-extracts from the last saved bookmark. What is
checked is that each run lists a record at most once (so duplicates only
come from a re-extraction), that the latest copy of every id is the source's
record, and that the mart, where staging deduplicates, holds each game once.

Each case kills its victim where it provably waits, so the kill can neither come
too late (the victim done) nor land anywhere but where the case says. The tap
and the target die while the emulator holds an API request (its `hold` fault),
request n + 1 with n drawn from the case's own fixed seed in the early or the
late half of the day's requests, counted in a clean reference run of the same
day; dbt dies while it writes a Parquet file into a named pipe that is never
read (tests/support/chaos.py): the games state early in its work, the mart
dim_games, its last model, late.
"""

from __future__ import annotations

import random
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest
from igdb_emulator import Dataset, Emulator, EmulatorConfig, Fault
from igdb_emulator.pytest_plugin import EmulatorFactory

from tests.e2e.conftest import (
    MAIN_JOB,
    RUN_TIMEOUT_S,
    Pipeline,
    pipeline_environment,
    prod_pipeline_for,
)
from tests.support.chaos import WatchedRun, WriteGate, kill, wait_until_gone, wait_while_running
from tests.support.dim_games import assert_rows_equal, expected_dim_games, latest_by_id
from tests.support.lake import DEFAULT_STREAMS, Record, listed_records, manifest, source_fields
from tests.support.seaweedfs import SeaweedFS

GAMES = 10_000
DATASET_SEED = 5
DAY_TWO = {"changed": 4_000, "added": 1_000, "deleted": 0}
# Files of 2,500 records rather than 50,000: every run lists files and moves
# the state several times, so kills land between those steps too.
SMALL_FILES = {"TARGET_S3_BATCH_SIZE_RECORDS": "2500"}
BATCH_FILE = re.compile(r"batch-\d{8}T\d{6}Z-[0-9a-f-]{36}\.jsonl(\.gz)?")
ORPHAN_GRACE_S = 30

Listing = dict[str, dict[str, list[Record]]]  # stream -> listed key -> its records, in load order
Source = dict[str, list[Record]]  # stream -> the emulator's truth


def dataset() -> Dataset:
    return Dataset.generate(games=GAMES, seed=DATASET_SEED)


def api_requests(emulator: Emulator) -> int:
    return sum(r.endpoint != "oauth2/token" for r in emulator.request_log)


def source_of(emulator: Emulator) -> Source:
    return {stream: emulator.truth(stream) for stream in DEFAULT_STREAMS}


def dev_pipeline_in(workdir: Path, emulator: Emulator) -> Pipeline:
    return Pipeline(workdir, emulator, {**pipeline_environment(workdir, emulator), **SMALL_FILES})


@dataclass(frozen=True)
class Reference:
    """Clean runs of both days on the dataset: the day-1 result, and what each run does."""

    day_one: Path  # a work directory right after a clean day-1 main job
    requests: dict[int, int]  # day -> API requests its main job makes


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    """One clean day 1 (kept as a copy for the day-2 cases) and one clean day 2."""
    base = tmp_path_factory.mktemp("crash-reference")
    with Emulator(dataset(), EmulatorConfig()) as emulator:
        pipeline = dev_pipeline_in(base / "run", emulator)
        pipeline.meltano(*MAIN_JOB)
        assert_mart_equals(pipeline, source_of(emulator))
        day_one_requests = api_requests(emulator)
        shutil.copytree(pipeline.workdir, base / "day-one", symlinks=True)
        emulator.advance_day(**DAY_TWO, endpoint="games")
        pipeline.meltano(*MAIN_JOB)
        yield Reference(
            day_one=base / "day-one",
            requests={1: day_one_requests, 2: api_requests(emulator) - day_one_requests},
        )


# Checks -------------------------------------------------------------------


def listing(pipeline: Pipeline) -> Listing:
    """Every default stream's listed files with their records (checks existence and counts)."""
    result: Listing = {}
    for stream in DEFAULT_STREAMS:
        current = manifest(pipeline.lake, stream)
        records = listed_records(pipeline.lake, stream)
        files: dict[str, list[Record]] = {}
        start = 0
        for item in current["files"] if current else []:
            files[item["key"]] = records[start : start + item["records"]]
            start += item["records"]
        result[stream] = files
    return result


def assert_manifests_consistent(pipeline: Pipeline, *, settled: bool) -> None:
    """Each file listed once, in the manifest's version, never a temporary file.

    On S3 a listed file is tagged `final`; right after a crash it may still be
    `temp` if the manifest names it under `untagged` (the next writer tags it).
    """
    s3 = pipeline.s3_lake
    listed: set[str] = set()
    for stream in DEFAULT_STREAMS:
        current = manifest(pipeline.lake, stream)
        if current is None:
            continue
        keys = [item["key"] for item in current["files"]]
        assert len(keys) == len(set(keys)), f"{stream}: a file is listed twice"
        versions = {item["table_version"] for item in current["files"]}
        assert versions <= {current["table_version"]}, f"{stream}: files of another version"
        temporary = [key for key in keys if not BATCH_FILE.fullmatch(key.rsplit("/", 1)[-1])]
        assert not temporary, f"{stream}: temporary files listed: {temporary}"
        listed.update(keys)
        if s3 is not None:
            pending = set() if settled else set(current.get("untagged", []))
            unfinished = [k for k in keys if s3.tags(k) != {"status": "final"} and k not in pending]
            assert not unfinished, f"{stream}: listed files not tagged final: {unfinished}"
    if s3 is not None:
        temp = {key for key in s3.keys("raw/") if s3.tags(key).get("status") == "temp"}
        assert not temp & listed, f"objects tagged temp are listed: {sorted(temp & listed)}"


def assert_delivered_once(files: dict[str, list[Record]], keys: set[str], stream: str) -> None:
    """One run's files hold each id at most once (duplicates only come across runs)."""
    ids = Counter(record["id"] for key in keys for record in files[key])
    twice = [record_id for record_id, n in ids.items() if n > 1]
    assert not twice, f"{stream}: one run listed ids {twice[:10]} more than once"


def assert_bookmarks_behind_listed_records(
    pipeline: Pipeline, lake: Listing, source: Source
) -> None:
    """A saved bookmark never claims a record that is not in a listed file.

    The rerun starts from it: a record at or before it and missing from the
    lake would be lost for good.
    """
    bookmarks = pipeline.state().get("singer_state", {}).get("bookmarks", {})
    for stream, bookmark in bookmarks.items():
        value = bookmark.get("replication_key_value")
        if stream not in lake or value is None:
            continue
        latest = latest_by_id(*lake[stream].values())
        behind = [
            r["id"]
            for r in source[stream]
            if r["updated_at"] <= value and source_fields(latest.get(r["id"], {})) != r
        ]
        assert not behind, f"{stream}: bookmark {value} passed unlisted records {behind[:10]}"


def assert_lake_holds(lake: Listing, source: Source) -> None:
    """The latest listed copy of every id is the source's record; nothing else listed."""
    for stream in DEFAULT_STREAMS:
        latest = latest_by_id(*lake[stream].values())
        truth = {r["id"]: r for r in source[stream]}
        missing = sorted(truth.keys() - latest.keys())
        extra = sorted(latest.keys() - truth.keys())
        stale = sorted(
            i for i in truth.keys() & latest.keys() if source_fields(latest[i]) != truth[i]
        )
        assert not missing, f"{stream}: {len(missing)} ids missing, e.g. {missing[:5]}"
        assert not extra, f"{stream}: {len(extra)} ids not in the source, e.g. {extra[:5]}"
        assert not stale, f"{stream}: {len(stale)} ids outdated, e.g. {stale[:5]}"


def assert_mart_equals(pipeline: Pipeline, source: Source) -> None:
    assert_rows_equal(pipeline.dim_games(), expected_dim_games(source))


def assert_bookmarks_at_the_newest_records(pipeline: Pipeline, source: Source) -> None:
    bookmarks = pipeline.state()["singer_state"]["bookmarks"]
    for stream in ("games", "companies", "involved_companies"):
        newest = max(r["updated_at"] for r in source[stream])
        assert bookmarks[stream] == {
            "replication_key": "updated_at",
            "replication_key_value": newest,
        }


# The crash and the rerun --------------------------------------------------


class Waypoint(Protocol):
    """Where a victim is made to wait: `reached(seconds)` once it waits there; `clear()`."""

    description: str

    def reached(self, seconds: float) -> bool: ...

    def clear(self) -> None: ...


@dataclass
class HeldRequest:
    """The tap waits on a request the emulator holds (so the target waits on the tap)."""

    emulator: Emulator
    description: str

    def reached(self, seconds: float) -> bool:
        return self.emulator.faults.wait_held(timeout=seconds)

    def clear(self) -> None:
        self.emulator.faults.clear()  # releases it: the killed run's other process hangs up


@dataclass
class ParquetWrite:
    """dbt waits inside its write of a Parquet file under the mart root.

    DuckDB writes a file that exists already to `tmp_<name>` and renames it over the
    old one: the gate takes that name, and on day 1 an empty file stands in for the
    mart (nothing reads a mart before writing it; the games state is read, so its
    gate is only on day 2, over the state day 1 wrote).
    """

    target: Path
    description: str
    gate: WriteGate = field(init=False)
    stand_in: bool = field(init=False)

    def __post_init__(self) -> None:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.stand_in = not self.target.exists()
        self.target.touch()
        self.gate = WriteGate(self.target.with_name(f"tmp_{self.target.name}"))

    def reached(self, seconds: float) -> bool:
        return self.gate.wait(seconds)

    def clear(self) -> None:
        self.gate.close()
        if self.stand_in:
            self.target.unlink()


@dataclass(frozen=True)
class Crash:
    """Kill `victim` during the main job of `day`, in the `half` of its work."""

    victim: str
    day: int
    half: str  # "early" or "late"
    lake: str = "local"  # or "s3"

    def waypoint(self, pipeline: Pipeline, reference: Reference) -> Waypoint:
        """Where the victim will wait to be killed, armed before the run starts."""
        if self.victim == "dbt":
            marts = pipeline.workdir / "marts"
            if self.half == "early":
                assert self.day == 2, "the games state is gated over an earlier one"
                return ParquetWrite(marts / "_state/games.parquet", "as dbt writes the games state")
            return ParquetWrite(marts / "dim_games/dim_games.parquet", "as dbt writes dim_games")
        # Drawn from the case's fixed seed; the last request is never held back.
        rng = random.Random(f"{self.victim}/day {self.day}/{self.half}/{self.lake}")
        total = reference.requests[self.day]
        answered = self._draw(rng, 1, total - 1)
        pipeline.emulator.faults.add(Fault.hold(after=answered))
        return HeldRequest(
            pipeline.emulator, f"as API request {answered + 1} of {total} waits unanswered"
        )

    def _draw(self, rng: random.Random, low: int, high: int) -> int:
        middle = (low + high) // 2
        return rng.randint(low, middle) if self.half == "early" else rng.randint(middle + 1, high)


def crash(pipeline: Pipeline, case: Crash, reference: Reference) -> None:
    """Start the main job, SIGKILL the victim where it waits, see the run fail."""
    waypoint = case.waypoint(pipeline, reference)
    run = WatchedRun(pipeline.start_meltano(*MAIN_JOB))
    try:
        what = f"{case.victim} waited {waypoint.description}"
        wait_while_running(run, waypoint.reached, timeout=RUN_TIMEOUT_S, what=what)
        killed = kill(run, case.victim, excluding=("--discover",))
        print(f"SIGKILL {case.victim} (pid {killed.victim.pid}) {waypoint.description}")
    finally:
        waypoint.clear()
    try:
        returncode = run.wait(timeout=RUN_TIMEOUT_S)
    finally:
        run.stop()
    tail = run.output()[-3000:]
    assert killed.alive, f"{case.victim} had already exited when killed:\n{tail}"
    assert returncode != 0, f"the run succeeded although {case.victim} was killed:\n{tail}"
    survivors = wait_until_gone(killed.bystanders, ORPHAN_GRACE_S)
    assert not survivors, f"processes outlived the killed run: {survivors}"


def crash_and_rerun(pipeline: Pipeline, case: Crash, reference: Reference) -> None:
    source = source_of(pipeline.emulator)  # the source holds still from here on
    before = listing(pipeline)
    crash(pipeline, case, reference)

    # The lake as the crash left it: what a reader would see before any rerun.
    assert_manifests_consistent(pipeline, settled=False)
    crashed = listing(pipeline)
    for stream, files in crashed.items():
        assert_delivered_once(files, files.keys() - before[stream].keys(), stream)
    assert_bookmarks_behind_listed_records(pipeline, crashed, source)

    pipeline.meltano(*MAIN_JOB)

    assert_mart_equals(pipeline, source)
    assert_manifests_consistent(pipeline, settled=True)
    after = listing(pipeline)
    for stream, files in after.items():
        assert_delivered_once(files, files.keys() - crashed[stream].keys(), stream)
    assert_lake_holds(after, source)
    games = [r["id"] for records in after["games"].values() for r in records]
    print(f"games listed {len(games)} times for {len(set(games))} ids")  # re-extraction shown
    assert_bookmarks_at_the_newest_records(pipeline, source)


CHECK = (
    "dim_games equals the source, no game twice; manifests list complete final files once; "
    "no bookmark ahead of listed records; bookmarks at the newest updated_at"
)


def on_day_two(workdir: Path, emulator: Emulator, reference: Reference) -> None:
    """Day 1 as the reference's clean run left it, and the source moved on to day 2."""
    # The DuckDB file is scratch: dbt rebuilds it from the lake and the mart's state.
    shutil.copytree(
        reference.day_one,
        workdir,
        symlinks=True,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("igdb.duckdb*"),
    )
    # The emulator builds a table on first use, from the day it is on: build
    # them on day 1, as the reference's day-1 run did, before day 2.
    for stream in DEFAULT_STREAMS:
        emulator.truth(stream)
    emulator.advance_day(**DAY_TWO, endpoint="games")


# Every victim on both days, the half of its work alternating, so each end of
# each process's work is covered once (all 12 combinations cost ~7 minutes).
LOCAL_CASES = [
    (1, "tap-igdb", "early"),
    (1, "target-s3", "late"),
    (1, "dbt", "late"),
    (2, "tap-igdb", "late"),
    (2, "target-s3", "early"),
    (2, "dbt", "early"),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("day", "victim", "half"), LOCAL_CASES, ids=["-".join(map(str, c)) for c in LOCAL_CASES]
)
@pytest.mark.fault_matrix(
    fault="kill -9 {victim}, {half} in a day-{day} run",
    injected="SIGKILL, dev (local lake)",
    outcome="fails, then the rerun succeeds",
    check=CHECK,
)
def test_a_run_killed_mid_work_is_completed_by_the_rerun(
    tmp_path: Path,
    igdb_emulator_factory: EmulatorFactory,
    reference: Reference,
    day: int,
    victim: str,
    half: str,
) -> None:
    """Day 1 is a first run (versioned full reads); day 2 an incremental one."""
    emulator = igdb_emulator_factory(dataset(), EmulatorConfig())
    if day == 2:
        on_day_two(tmp_path, emulator, reference)
    pipeline = dev_pipeline_in(tmp_path, emulator)

    crash_and_rerun(pipeline, Crash(victim, day, half), reference)


@pytest.mark.slow
# The target: the process whose crash leaves objects tagged status=temp on S3.
@pytest.mark.parametrize("victim", ["target-s3"])
@pytest.mark.fault_matrix(
    fault="kill -9 {victim}, late in a day-1 run on S3",
    injected="SIGKILL, prod (SeaweedFS, state in S3)",
    outcome="fails, then the rerun succeeds",
    check=CHECK + "; objects left tagged temp are not listed",
)
def test_a_first_run_on_s3_killed_mid_work_is_completed_by_the_rerun(
    tmp_path: Path,
    igdb_emulator_factory: EmulatorFactory,
    seaweedfs: SeaweedFS,
    s3_bucket: str,
    reference: Reference,
    victim: str,
) -> None:
    emulator = igdb_emulator_factory(dataset(), EmulatorConfig())
    pipeline = prod_pipeline_for(tmp_path, emulator, seaweedfs, s3_bucket)
    pipeline.env.update(SMALL_FILES)

    crash_and_rerun(pipeline, Crash(victim, day=1, half="late", lake="s3"), reference)
