"""Root conftest: shared pytest plugins for every package's tests.

The IGDB emulator registers its fixtures through its own pytest11 entry point.
"""

pytest_plugins = ["tests.support.seaweedfs", "tests.support.fault_matrix"]
