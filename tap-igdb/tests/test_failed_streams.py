"""A stream that fails after its retries does not stop the others.

Its failure is logged with its cause; every other stream is read to its end and
saves its state; the failed stream sends no closing ACTIVATE_VERSION and its
bookmark stays where it was; the run then fails, naming every failed stream. A
failure no stream can get past (settings, credentials) still ends the run at once.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from typing import TYPE_CHECKING

import pytest
from igdb_emulator import Emulator, EmulatorConfig, Fault
from tap_igdb.errors import AuthError

if TYPE_CHECKING:
    from pathlib import Path

    from igdb_emulator.pytest_plugin import EmulatorFactory

    from conftest import EmulatorSettings, FakeServer, JSONObject, Reply, RunTap, Seen, TapRun

# In sync order: a lookup, then incremental streams on both sides of the failing one.
STREAMS = ["platforms", "games", "involved_companies", "keywords"]
HEALTHY = ["platforms", "games", "keywords"]
FAILING = "involved_companies"
# Every request for its records answers 502 until the faults are cleared.
OUTAGE = Fault.server_error(count=1_000_000, status=502, endpoint=FAILING)
CAUSE = f"{FAILING}: giving up after 3 attempts: {FAILING}: IGDB answered 502 Bad Gateway"


@pytest.fixture
def emu(igdb_emulator_factory: EmulatorFactory) -> Emulator:
    return igdb_emulator_factory(config=EmulatorConfig.unthrottled())


@pytest.fixture
def config(emu: Emulator, emulator_config: EmulatorSettings) -> JSONObject:
    # One block per request, so the fault hits exactly the failing stream's requests.
    return emulator_config(emu, requests_per_second=100, use_multiquery=False, max_retries=2)


def kinds(run: TapRun, stream: str) -> list[str]:
    return [m["type"] for m in run.messages if m.get("stream") == stream]


def by_id(records: list[JSONObject]) -> list[JSONObject]:
    return sorted(records, key=lambda r: r["id"])


@pytest.mark.fault_matrix(
    fault="one endpoint answers 502 for good (first run)",
    injected="emulator (IGDB, involved_companies)",
    outcome="fails loudly at the end, naming the stream; the other streams complete",
    check="other streams equal the source, framed and bookmarked; the failed one unclosed",
)
def test_a_failing_stream_leaves_the_streams_after_it_complete(
    emu: Emulator,
    config: JSONObject,
    run_tap: RunTap,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu.faults.add(OUTAGE)

    with caplog.at_level(logging.INFO):
        run = run_tap(config, streams=STREAMS, failing=True)

    assert str(run.failed) == f"tap-igdb: 1 of 4 streams failed: {FAILING} ({CAUSE})"
    for stream in HEALTHY:
        assert by_id(run.records(stream)) == emu.truth(stream), stream
        framed = kinds(run, stream)
        assert framed[1] == framed[-1] == "ACTIVATE_VERSION", stream
    # Opened, never closed: the target keeps the previous version of the table.
    assert kinds(run, FAILING) == ["SCHEMA", "ACTIVATE_VERSION"]
    bookmarks = run.state["bookmarks"]
    for stream in ("games", "keywords"):
        assert run.bookmark(stream) == max(r["updated_at"] for r in emu.truth(stream))
    assert "replication_key_value" not in bookmarks.get(FAILING, {})
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in failures] == [
        f"{FAILING}: stream failed, the other streams go on: {CAUSE}"
    ]
    assert emu.client_secret not in caplog.text


@pytest.mark.fault_matrix(
    fault="one endpoint answers 502 for good (daily run), then recovers",
    injected="emulator (IGDB, involved_companies)",
    outcome="fails loudly at the end; rerun after recovery",
    check="failed stream's bookmark unchanged; the rerun reads it from there; all equal source",
)
def test_a_failed_stream_keeps_its_bookmark_and_the_rerun_reads_from_it(
    emu: Emulator, config: JSONObject, run_tap: RunTap
) -> None:
    first = run_tap(config, streams=STREAMS)
    for stream in ("games", FAILING, "keywords"):
        emu.advance_day(changed=15, added=5, deleted=0, endpoint=stream)
    emu.faults.add(OUTAGE)

    failed = run_tap(config, streams=STREAMS, state=first.state, failing=True)

    assert str(failed.failed) == f"tap-igdb: 1 of 4 streams failed: {FAILING} ({CAUSE})"
    assert failed.state["bookmarks"][FAILING] == first.state["bookmarks"][FAILING]
    for stream in ("games", "keywords"):
        assert failed.bookmark(stream) == max(r["updated_at"] for r in emu.truth(stream))
        assert failed.bookmark(stream) > first.bookmark(stream)
    assert failed.records(FAILING) == []

    emu.faults.clear()
    rerun = run_tap(config, streams=STREAMS, state=failed.state)

    since = first.bookmark(FAILING) - int(config.get("lookback_seconds", 3600))
    changed = [r for r in emu.truth(FAILING) if r["updated_at"] >= since]
    assert len(changed) >= 20  # the day's changes and additions
    assert by_id(rerun.records(FAILING)) == changed
    assert rerun.bookmark(FAILING) == max(r["updated_at"] for r in emu.truth(FAILING))
    latest = {r["id"]: r for r in first.records(FAILING) + rerun.records(FAILING)}
    assert by_id(list(latest.values())) == emu.truth(FAILING)


@pytest.mark.fault_matrix(
    fault="a field's type changes at IGDB (rating sent as a string)",
    injected="emulator (IGDB, games)",
    outcome="fails loudly at the end, naming stream, record and field; the others complete",
    check="other streams equal the source; games' bookmark unchanged",
)
def test_a_field_type_change_fails_its_stream_only(
    emu: Emulator, config: JSONObject, run_tap: RunTap
) -> None:
    emu.faults.add(Fault.change_type("rating", "string", endpoint="games"))
    streams = ["platforms", "games", "keywords"]

    run = run_tap(config, streams=streams, failing=True)

    message = str(run.failed)
    assert message.startswith("tap-igdb: 1 of 3 streams failed: games (games: IGDB sent record ")
    assert "with field 'rating' as string" in message
    for stream in ("platforms", "keywords"):
        assert by_id(run.records(stream)) == emu.truth(stream), stream
    assert "replication_key_value" not in run.state["bookmarks"].get("games", {})
    assert kinds(run, "games").count("ACTIVATE_VERSION") == 1  # opened, never closed


GENRES: list[JSONObject] = [{"id": i, "name": f"genre {i}"} for i in range(3)]
THEMES: list[JSONObject] = [{"id": i, "name": f"theme {i}"} for i in range(4)]


def test_a_broken_answer_fails_its_stream_only(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    def api(seen: Seen) -> Reply:
        if seen.path == "/v4/genres":
            return fake_igdb.reply(body={"unexpected": "an object, not a list of records"})
        return fake_igdb.reply(body=THEMES)

    fake_igdb.api = api

    run = run_tap(fake_igdb_config, streams=["genres", "themes"], failing=True)

    assert str(run.failed).startswith(
        "tap-igdb: 1 of 2 streams failed: genres (genres: unexpected answer from IGDB: "
    )
    assert run.records("themes") == THEMES
    assert run.records("genres") == []


def test_credentials_refused_mid_run_still_end_the_run_at_once(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    """No stream can get past a 401 with a fresh token: the run ends, the rest unread."""
    fake_igdb.api = lambda seen: fake_igdb.reply(
        status=401, body={"message": "Authorization Failure."}
    )
    with pytest.raises(AuthError, match="refused a freshly fetched token"):
        run_tap({**fake_igdb_config, "max_open_requests": 1}, streams=["genres", "themes"])
    assert fake_igdb.paths().count("/oauth2/token") == 2
    assert [seen.path for seen in fake_igdb.api_requests()] == ["/v4/genres"] * 2


def test_credentials_refused_for_a_later_stream_end_the_run_while_an_earlier_one_waits(
    fake_igdb: FakeServer, fake_igdb_config: JSONObject, run_tap: RunTap
) -> None:
    """The refusal comes from a read-ahead request while the SDK waits for the first
    stream, whose request IGDB holds: the run ends without waiting for it."""
    release, answered = threading.Event(), threading.Event()

    def api(seen: Seen) -> Reply:
        if seen.path == "/v4/genres":
            release.wait(timeout=60)  # held until the test has seen the run end
            answered.set()
            return fake_igdb.reply(body=GENRES)
        return fake_igdb.reply(status=401, body={"message": "Authorization Failure."})

    fake_igdb.api = api
    try:
        with pytest.raises(AuthError, match="themes: IGDB refused a freshly fetched token"):
            run_tap({**fake_igdb_config, "max_open_requests": 2}, streams=["genres", "themes"])
        assert not answered.is_set(), "the run waited for the held request"
    finally:
        release.set()


def test_the_cli_exits_non_zero_with_one_line_naming_every_failed_stream(
    emu: Emulator, config: JSONObject, tmp_path: Path
) -> None:
    emu.faults.add(OUTAGE)
    emu.faults.add(Fault.change_type("rating", "string", endpoint="games"))
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))

    result = subprocess.run(
        [sys.executable, "-m", "tap_igdb.tap", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    assert errors[0].startswith("Error: tap-igdb: 2 of 74 streams failed: games (games: IGDB ")
    assert errors[0].endswith(f"; {FAILING} ({CAUSE})")
    assert "Traceback" not in result.stderr
    assert emu.client_secret not in result.stderr + result.stdout
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    read = {m["stream"] for m in messages if m["type"] == "RECORD"}
    # Every stream after the failed ones was read (games and involved_companies are
    # the 34th and 35th of 74).
    assert {"keywords", "popularity_primitives", "release_dates"} <= read
