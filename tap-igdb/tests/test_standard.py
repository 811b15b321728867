"""The Singer SDK's standard tap tests, run against the IGDB emulator."""

from collections.abc import Iterator

import pytest
from igdb_emulator import Dataset, Emulator, EmulatorConfig
from singer_sdk.testing import get_tap_test_class
from singer_sdk.testing.runners import TapTestRunner
from tap_igdb.tap import TapIGDB
from typing_extensions import override

# The SDK builds its test parameters (one per stream) from a tap made with this
# config; no request is sent until the `runner` below syncs against the emulator.
_StandardTests = get_tap_test_class(
    TapIGDB, config={"client_id": "placeholder", "client_secret": "placeholder"}
)


# The SDK makes the test class at run time; mypy cannot take a variable as a base class.
class TestTapIGDB(_StandardTests):  # type: ignore[misc, valid-type]
    @pytest.fixture(scope="class")
    @override  # the SDK's runner, which would sync against IGDB itself
    def runner(self) -> Iterator[TapTestRunner]:
        with Emulator(Dataset.samples(), EmulatorConfig.unthrottled()) as emu:
            runner = TapTestRunner(
                TapIGDB,
                config={
                    "client_id": emu.client_id,
                    "client_secret": emu.client_secret,
                    "api_url": emu.api_url,
                    "auth_url": emu.auth_url,
                    "requests_per_second": 100,
                },
            )
            runner.sync_all()
            yield runner
