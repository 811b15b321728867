"""IGDB's failure modes, injected by the emulator: survived, or one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from igdb_emulator import Emulator, EmulatorConfig, Fault
from igdb_emulator.pytest_plugin import EmulatorFactory

if TYPE_CHECKING:
    from conftest import EmulatorSettings, JSONObject, RunTap, TapRun

SURVIVABLE = {
    "429 storm": Fault.rate_limit(count=6),
    "502 burst": Fault.server_error(count=4, status=502),
    "truncated JSON": Fault.truncated_json(count=2),
    "invalid JSON": Fault.invalid_json(count=2),
}
TAP_CLI = [sys.executable, "-m", "tap_igdb.tap"]


@pytest.fixture
def emu(igdb_emulator_factory: EmulatorFactory) -> Emulator:
    return igdb_emulator_factory(config=EmulatorConfig.unthrottled())


@pytest.fixture
def config(emu: Emulator, emulator_config: EmulatorSettings) -> JSONObject:
    return emulator_config(emu, requests_per_second=100, page_size=100, use_multiquery=False)


def assert_complete(emu: Emulator, run: TapRun, stream: str = "games") -> None:
    assert sorted(run.records(stream), key=lambda r: r["id"]) == emu.truth(stream)


@pytest.mark.parametrize("fault", SURVIVABLE.values(), ids=SURVIVABLE.keys())
def test_transient_faults_are_survived(
    emu: Emulator, config: JSONObject, run_tap: RunTap, fault: Fault
) -> None:
    emu.faults.add(fault)
    run = run_tap(config, streams=["games"])
    assert_complete(emu, run)
    assert Counter(r.status for r in emu.request_log)[200] > 0
    assert len(run.of_type("ACTIVATE_VERSION", "games")) == 2


def test_slow_response_past_request_timeout_is_retried(
    emu: Emulator, config: JSONObject, run_tap: RunTap
) -> None:
    # Held until the tap hangs up: no answer comes before its timeout, however busy the
    # machine, so the run completes only if the tap gave up on it and asked again.
    emu.faults.add(Fault.hold())
    run = run_tap({**config, "request_timeout": 1}, streams=["genres"])
    assert_complete(emu, run, "genres")
    assert emu.faults.wait_held(timeout=0)


def test_tokens_expiring_mid_run_are_refetched_once(
    emu: Emulator, config: JSONObject, run_tap: RunTap
) -> None:
    emu.faults.add(Fault.expire_tokens_after(requests=3))
    run = run_tap(config, streams=["games"])
    assert_complete(emu, run)
    assert emu.tokens_issued == 2
    assert Counter(r.status for r in emu.request_log)[401] >= 1


def test_tokens_revoked_mid_run_are_refetched_once(
    emu: Emulator, emulator_config: EmulatorSettings, run_tap: RunTap
) -> None:
    # IGDB's own limits make the run last long enough to revoke tokens in its middle.
    config = emulator_config(emu, page_size=50, use_multiquery=False, max_open_requests=1)
    emu.faults.add(Fault.hold(after=3))  # the fourth API request waits on arrival
    revoked = threading.Event()

    def revoke_while_a_request_waits() -> None:
        if emu.faults.wait_held(timeout=60):
            emu.faults.add(Fault.revoke_tokens())
            revoked.set()
        emu.faults.release()  # it meets the revoked token

    watcher = threading.Thread(target=revoke_while_a_request_waits)
    watcher.start()
    run = run_tap({**config, "requests_per_second": 4}, streams=["games"])
    watcher.join()
    assert revoked.is_set()
    assert_complete(emu, run)
    assert emu.tokens_issued == 2


def run_cli(tmp_path: Path, config: JSONObject) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [*TAP_CLI, "--config", str(path)], capture_output=True, text=True, check=False
    )


def test_persistent_server_errors_fail_with_one_line(
    emu: Emulator, config: JSONObject, tmp_path: Path
) -> None:
    emu.faults.add(Fault.server_error(count=10_000, status=502))
    result = run_cli(tmp_path, {**config, "max_retries": 2})
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    # Every stream tried, and failed after its retries: all named, by name. A lookup's
    # first request is its page; a large stream's is its count (without multiquery).
    assert errors[0].startswith(
        "Error: tap-igdb: 74 of 74 streams failed: age_rating_categories "
        "(age_rating_categories: giving up after 3 attempts: age_rating_categories: IGDB "
        "answered 502 Bad Gateway); "
    )
    assert (
        "; age_ratings (age_ratings/count: giving up after 3 attempts: age_ratings/count: "
        "IGDB answered 502 Bad Gateway); "
    ) in errors[0]
    assert "Traceback" not in result.stderr
    # Each stream opened a table version but never closed it.
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    for stream in ("age_ratings", "games", "websites"):
        assert [m["type"] for m in messages if m.get("stream") == stream] == [
            "SCHEMA",
            "ACTIVATE_VERSION",
        ]


def test_bad_credentials_fail_with_one_line_naming_the_setting(
    emu: Emulator, config: JSONObject, tmp_path: Path
) -> None:
    result = run_cli(tmp_path, {**config, "client_secret": "wrong-secret-123"})
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        "Error: Twitch refused the credentials (403 invalid client secret): "
        "check the client_secret setting"
    ]
    assert "wrong-secret-123" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # refused before any message: Meltano's state stays as it was
