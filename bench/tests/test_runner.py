"""The runner: its own Meltano system directory, each scenario's selection and day of changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typing_extensions import override

from bench.runner import (
    STREAMS,
    Options,
    advance_source_one_day,
    scenario_environment,
    selected_streams,
)
from bench.scenarios import SCENARIOS
from bench.source import EmulatorProcess
from bench.streams import ALL_STREAMS, INCREMENTAL_STREAMS
from tests.support.lake import DEFAULT_STREAMS
from tests.support.meltano_env import private_meltano_dir


def test_private_meltano_dir_links_the_plugins_but_not_the_run_files(tmp_path: Path) -> None:
    project = tmp_path / "project-sys"
    for name in ("extractors/tap-igdb/venv", "loaders/target-s3/venv", "run/tap-igdb"):
        (project / name).mkdir(parents=True)
    (project / "meltano.db").write_text("")

    sys_dir = private_meltano_dir(tmp_path / "work", project)

    assert (sys_dir / "extractors").resolve() == (project / "extractors").resolve()
    assert (sys_dir / "loaders" / "target-s3" / "venv").is_dir()
    assert not (sys_dir / "run").exists()
    assert not (sys_dir / "meltano.db").exists()
    assert private_meltano_dir(tmp_path / "work", project) == sys_dir  # idempotent


class FakeEmulator(EmulatorProcess):
    """The admin API answered in memory: records the calls, holds `held` records each."""

    def __init__(self, held: dict[str, int]) -> None:
        super().__init__(games=held["games"], seed=7, source="per-page", workdir=Path("unused"))
        self.ready = {"api_url": "http://api", "auth_url": "http://auth", "admin_url": "http://x",
                      "client_id": "id", "client_secret": "secret"}  # fmt: skip
        self.held = held
        self.calls: list[tuple[str, str, dict[str, Any] | None]] = []

    @override
    def _admin(self, method: str, route: str, payload: dict[str, Any] | None = None) -> Any:
        if route.startswith("count/"):
            return {"count": self.held.get(route.removeprefix("count/"), 0)}
        self.calls.append((method, route, payload))
        return []


OPTIONS = Options(games=2_000, seed=7, changed_fraction=0.05, workdir=Path("unused"))


def test_the_default_scenarios_extract_the_main_jobs_selection() -> None:
    assert STREAMS == DEFAULT_STREAMS
    assert selected_streams(SCENARIOS["igdb-per-page"]) == DEFAULT_STREAMS
    assert selected_streams(SCENARIOS["every-stream-per-page"]) == ALL_STREAMS


def test_the_every_stream_scenario_selects_every_stream_for_the_tap(tmp_path: Path) -> None:
    source = FakeEmulator({"games": 2_000})

    every = scenario_environment(SCENARIOS["every-stream-per-page"], source, tmp_path / "a")
    default = scenario_environment(SCENARIOS["igdb-per-page"], source, tmp_path / "b")

    assert json.loads(every["TAP_IGDB__SELECT"]) == ["*.*"]
    assert "TAP_IGDB__SELECT" not in default
    assert every["TAP_IGDB_API_URL"] == "http://api"
    assert "TAP_IGDB_REQUESTS_PER_SECOND" not in every  # IGDB's limits apply


def _changes(source: FakeEmulator) -> dict[str, int]:
    """The day's changes: one admin call for every endpoint, all within one day."""
    ((method, route, payload),) = source.calls
    assert (method, route) == ("POST", "one-day")
    assert payload is not None
    assert payload["seed"] == 7
    return {endpoint: counts["changed"] for endpoint, counts in payload["changes"].items()}


def test_a_default_day_changes_the_games_only() -> None:
    source = FakeEmulator({"games": 2_000, "covers": 1_000})

    advance_source_one_day(source, SCENARIOS["igdb-per-page"], OPTIONS)

    assert _changes(source) == {"games": 100}  # 5% of 2,000


def test_the_every_stream_day_changes_one_percent_of_every_incremental_stream() -> None:
    held = dict.fromkeys(INCREMENTAL_STREAMS, 1000)
    source = FakeEmulator({**held, "games": 2_000, "characters": 260, "keywords": 40, "events": 0})

    changed = advance_source_one_day(source, SCENARIOS["every-stream-per-page"], OPTIONS)

    expected = dict.fromkeys(INCREMENTAL_STREAMS, 10)
    expected.update(games=100, characters=3, keywords=1)  # 5% of games; at least one
    del expected["events"]  # holds nothing: nothing to change
    assert _changes(source) == expected
    assert changed == expected
    assert not set(changed) - set(INCREMENTAL_STREAMS)  # snapshot streams have no updated_at
