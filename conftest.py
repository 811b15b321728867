"""Root conftest: shared pytest plugins for every package's tests.

The SeaweedFS server comes from the test-only package `seaweedfs_fixture`
(tests/seaweedfs-fixture/), loaded here by name, never through an entry point.
The IGDB emulator's fixtures are loaded the same way (`igdb_emulator.pytest_plugin`):
an entry point would load them into every test run of whoever installs the package.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["seaweedfs_fixture", "igdb_emulator.pytest_plugin", "tests.support.fault_matrix"]

E2E_DIR = Path(__file__).resolve().parent / "tests" / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the long end-to-end cases first, the slowest of all first.

    `make test` spreads the suite over xdist workers one module at a time, in
    this order: the minutes-long modules begin at once and the many quick unit
    tests fill the gaps at the end, instead of one long module running alone last.
    """

    def weight(item: pytest.Item) -> tuple[bool, bool]:
        is_e2e = E2E_DIR in item.path.parents
        return (not is_e2e, item.get_closest_marker("slow") is None)

    items.sort(key=weight)
