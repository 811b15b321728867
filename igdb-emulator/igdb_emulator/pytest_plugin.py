"""pytest fixtures that start IGDB emulators.

Load them by name, `pytest_plugins = ["igdb_emulator.pytest_plugin"]` in a conftest:
the package declares no pytest11 entry point, so installing it never adds fixtures to
someone else's test run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import pytest

from igdb_emulator.dataset import Dataset
from igdb_emulator.server import Emulator, EmulatorConfig


class EmulatorFactory(Protocol):
    """Starts an emulator; the fixture stops every one it started."""

    def __call__(
        self, dataset: Dataset | None = None, config: EmulatorConfig | None = None
    ) -> Emulator: ...


@pytest.fixture
def igdb_emulator() -> Iterator[Emulator]:
    """The real samples behind IGDB's limits (4 req/s, 8 open, 10 MB), no latency."""
    with Emulator(Dataset.samples(), EmulatorConfig()) as emulator:
        yield emulator


@pytest.fixture
def igdb_emulator_factory() -> Iterator[EmulatorFactory]:
    """`factory(dataset=None, config=None)` -> a started emulator; all stopped at teardown."""
    started: list[Emulator] = []

    def factory(dataset: Dataset | None = None, config: EmulatorConfig | None = None) -> Emulator:
        emulator = Emulator(dataset if dataset is not None else Dataset.samples(), config)
        started.append(emulator.start())
        return emulator

    yield factory
    for emulator in started:
        emulator.stop()
