"""The emulator's fixtures load only where a conftest asks for them by name."""

from __future__ import annotations

import importlib.metadata


def test_the_package_declares_no_pytest11_entry_point() -> None:
    entry_points = importlib.metadata.distribution("igdb-emulator").entry_points
    assert [e for e in entry_points if e.group == "pytest11"] == []
