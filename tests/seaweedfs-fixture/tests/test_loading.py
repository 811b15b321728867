"""The plugin loads only where a conftest names it (`pytest_plugins`)."""

from importlib import metadata

import pytest


def test_no_entry_point_loads_it_into_every_pytest_run() -> None:
    distribution = metadata.distribution("seaweedfs-fixture")
    assert [point for point in distribution.entry_points if point.group == "pytest11"] == []


def test_the_root_conftest_loads_it_by_name(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("seaweedfs_fixture")
