"""A benchmark run: per size, one emulator per source; per scenario three steps and a check."""

from __future__ import annotations

import datetime as dt
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.correctness import Correctness, check_dim_games
from bench.floor import ratio_to_floor, source_load
from bench.scenarios import Scenario, Source
from bench.source import EmulatorProcess
from bench.steps import StepFailedError, StepMeasurement, child_pid_named, run_step
from bench.streams import ALL_STREAMS, INCREMENTAL_STREAMS, listed_files, per_stream
from tests.support.lake import DEFAULT_STREAMS, Lake, LocalLake, S3Lake
from tests.support.meltano_env import isolated_environment
from tests.support.seaweedfs import PORT_FLAGS, SeaweedFS, free_ports

ROOT = Path(__file__).resolve().parents[1]
MELTANO = str(Path(sys.executable).with_name("meltano"))
MART_KEY = "marts/dim_games/dim_games.parquet"
# The tap's default selection: what the main job extracts.
STREAMS = DEFAULT_STREAMS
SELECT_EVERY_STREAM = '["*.*"]'  # Meltano's `select` as JSON, in TAP_IGDB__SELECT
# The day's share of each incremental stream changed besides games (which take
# --changed-fraction).
OTHER_STREAMS_CHANGED_FRACTION = 0.01
# The tap's ceiling (its settings schema allows 100): the source, not the tap, sets the pace.
UNTHROTTLED_TAP_REQUESTS_PER_SECOND = "100"

FULL_REFRESH_EL = ("run", "--full-refresh", "tap-igdb", "target-s3")
DBT_FULL_BUILD = ("run", "dbt-duckdb:build-full-refresh")
MAIN_JOB = ("run", "tap-igdb", "target-s3", "dbt-duckdb:run")

Say = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    games: int
    seed: int
    changed_fraction: float
    workdir: Path


def _s3_environment(env: dict[str, str], server: SeaweedFS, bucket: str) -> dict[str, str]:
    """The prod environment: lake, marts and Meltano state in one bucket on SeaweedFS."""
    env = {k: v for k, v in env.items() if k not in ("TARGET_S3_LOCAL_PATH", "IGDB_LAKE_ROOT",
                                                      "IGDB_MART_ROOT")}  # fmt: skip
    endpoint = server.endpoint_url
    return {
        **env,
        "MELTANO_ENVIRONMENT": "prod",
        "IGDB_LAKE_BUCKET": bucket,
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
        "AWS_REGION": server.region,
        "AWS_DEFAULT_REGION": server.region,
        "TARGET_S3_ENDPOINT_URL": endpoint,
        "IGDB_S3_ENDPOINT": endpoint.removeprefix("http://"),
        "IGDB_S3_URL_STYLE": "path",
        "IGDB_S3_USE_SSL": "false",
        "MELTANO_STATE_BACKEND_URI": f"s3://{bucket}/meltano/state",
        "MELTANO_STATE_BACKEND_S3_ENDPOINT_URL": endpoint,
        "MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID": server.access_key,
        "MELTANO_STATE_BACKEND_S3_AWS_SECRET_ACCESS_KEY": server.secret_key,
    }


def selected_streams(scenario: Scenario) -> tuple[str, ...]:
    return ALL_STREAMS if scenario.every_stream else STREAMS


def advance_source_one_day(
    source: EmulatorProcess, scenario: Scenario, options: Options
) -> dict[str, int]:
    """One day of changes at the source, across every endpoint changed; the records
    changed of each."""
    changes = {"games": max(1, round(options.games * options.changed_fraction))}
    for stream in INCREMENTAL_STREAMS if scenario.every_stream else ():
        if stream != "games":
            held = source.record_count(stream)
            changes[stream] = min(held, max(1, round(held * OTHER_STREAMS_CHANGED_FRACTION)))
    changes = {stream: changed for stream, changed in changes.items() if changed}
    source.one_day(changes, seed=options.seed)
    return changes


def scenario_environment(
    scenario: Scenario, source: EmulatorProcess, workdir: Path
) -> dict[str, str]:
    """A fresh local environment pointed at the source, with the scenario's limits and selection."""
    env = {**isolated_environment(workdir), **source.tap_environment()}
    if not scenario.throttled:
        env["TAP_IGDB_REQUESTS_PER_SECOND"] = UNTHROTTLED_TAP_REQUESTS_PER_SECOND
    if scenario.every_stream:
        env["TAP_IGDB__SELECT"] = SELECT_EVERY_STREAM
    return env


@dataclass
class ScenarioRun:
    """One scenario against a running emulator: three measured steps, then the check."""

    scenario: Scenario
    source: EmulatorProcess
    options: Options
    env: dict[str, str]
    lake: Lake
    workdir: Path
    servers: dict[str, int]
    say: Say

    @property
    def streams(self) -> tuple[str, ...]:
        return selected_streams(self.scenario)

    def _step(
        self, name: str, args: tuple[str, ...], *, extracts: bool, el_only: bool = False
    ) -> dict[str, Any]:
        before = listed_files(self.lake, self.streams) if extracts else {}
        self.source.clear_requests()
        self.say(f"  {name}: meltano {' '.join(args)}")
        measured: StepMeasurement = run_step(
            name,
            [MELTANO, *args],
            env=self.env,
            cwd=ROOT,
            log_path=self.workdir / "meltano.log",
            servers=self.servers,
        )
        result = {**measured.as_json(), "command": ["meltano", *args]}  # no local paths
        if extracts:
            log = self.source.requests()
            streams = per_stream(self.streams, before, listed_files(self.lake, self.streams), log)
            result["streams"] = {name: asdict(numbers) for name, numbers in streams.items()}
            result["records"] = sum(numbers.records for numbers in streams.values())
            result["records_per_s"] = result["records"] / measured.wall_s
            load = source_load(log)
            # Our extraction time: the whole step when it is only EL, else the tap's
            # span (discovery to exit), which leaves out the dbt run after it.
            tap = measured.processes.get("tap-igdb")
            el_wall = measured.wall_s if el_only or tap is None else tap.wall_s
            result["source_requests"] = {
                **asdict(load),
                "el_wall_s": el_wall,
                "ratio": ratio_to_floor(el_wall, load.floor_s),
            }
        self.say(
            f"    {measured.wall_s:.1f} s wall, {measured.cpu_s:.1f} s CPU, "
            f"peak {measured.peak_rss_mib:.0f} MiB"
            + (f", {result['records']:,} records" if extracts else "")
        )
        return result

    def run(self) -> dict[str, Any]:
        steps: list[dict[str, Any]] = []
        try:
            steps.append(
                self._step("full-refresh-el", FULL_REFRESH_EL, extracts=True, el_only=True)
            )
            steps.append(self._step("dbt-build", DBT_FULL_BUILD, extracts=False))
            changes = advance_source_one_day(self.source, self.scenario, self.options)
            changed = ", ".join(f"{n:,} {stream}" for stream, n in changes.items())
            self.say(f"  advanced the source one day; changed: {changed}")
            steps.append(self._step("incremental-day", MAIN_JOB, extracts=True))
            self.say("  checking dim_games against the source's truth")
            checking = time.monotonic()
            correctness = check_dim_games(self._mart(), self.source.truth)
            self.say(f"    checked in {time.monotonic() - checking:.1f} s")
        except StepFailedError as failure:
            correctness = Correctness(False, 0, str(failure).splitlines()[0])
            self.say(str(failure))
        self.say(f"  dim_games: {'pass' if correctness.passed else 'FAIL'} ({correctness.detail})")
        return {
            "scenario": self.scenario.name,
            "description": self.scenario.description,
            "source": self.scenario.source,
            "lake": self.scenario.lake,
            "games": self.options.games,
            "seed": self.options.seed,
            "steps": steps,
            "correctness": asdict(correctness),
        }

    def _mart(self) -> Path:
        if isinstance(self.lake, LocalLake):
            return self.workdir / MART_KEY
        body = self.lake.read(MART_KEY)
        local = self.workdir / "downloaded-dim_games.parquet"
        if body is not None:
            local.write_bytes(body)
        return local


@contextmanager
def _seaweedfs(workdir: Path) -> Iterator[SeaweedFS]:
    ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
    server = SeaweedFS(data_dir=workdir / "seaweedfs", ports=ports)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def run_size(scenarios: list[Scenario], options: Options, say: Say) -> list[dict[str, Any]]:
    """Every scenario at one size; one emulator per source setting, reused across its scenarios."""
    results = []
    by_source: dict[Source, list[Scenario]] = {}
    for scenario in scenarios:
        by_source.setdefault(scenario.source, []).append(scenario)
    with ExitStack() as stack:
        s3: SeaweedFS | None = None
        if any(s.lake == "s3" for s in scenarios):
            s3 = stack.enter_context(_seaweedfs(options.workdir))
        for source_setting, group in by_source.items():
            say(f"starting the emulator: {options.games:,} games, source {source_setting}")
            with EmulatorProcess(
                options.games, options.seed, source_setting, options.workdir
            ) as source:
                for scenario in group:
                    say(f"{scenario.name} ({options.games:,} games): {scenario.description}")
                    results.append(_run_scenario(scenario, source, options, s3, say))
    return results


def _run_scenario(
    scenario: Scenario,
    source: EmulatorProcess,
    options: Options,
    s3: SeaweedFS | None,
    say: Say,
) -> dict[str, Any]:
    workdir = options.workdir / f"{scenario.name}-{options.games}"
    workdir.mkdir(parents=True)
    env = scenario_environment(scenario, source, workdir)
    servers = {"emulator": source.pid}
    lake: Lake = LocalLake(workdir / "lake")
    if scenario.lake == "s3":
        assert s3 is not None
        bucket = s3.create_bucket(f"bench-{uuid.uuid4().hex[:12]}")
        env = _s3_environment(env, s3, bucket)
        lake = S3Lake(s3.client(), bucket)
        weed = child_pid_named("weed")
        if weed is not None:
            servers["seaweedfs"] = weed
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    result = ScenarioRun(scenario, source, options, env, lake, workdir, servers, say).run()
    return {**result, "started_at": started_at}


def run_document(
    scenario_results: list[dict[str, Any]],
    *,
    started: dt.datetime,
    args: Mapping[str, Any],
    machine: dict[str, Any],
    versions: dict[str, str],
    git: dict[str, Any],
    note: str,
) -> dict[str, Any]:
    return {
        "schema": 1,
        "date": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "machine": machine,
        "versions": versions,
        "git": git,
        "args": dict(args),
        "note": note,
        "scenarios": scenario_results,
    }
