"""tap-igdb -> target-s3 through real `meltano` subprocesses, against the emulator."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from igdb_emulator import Dataset, Emulator, EmulatorConfig, Fault
from igdb_emulator.pytest_plugin import EmulatorFactory

from tests.e2e.conftest import RUN_TIMEOUT_S, Pipeline, pipeline_environment
from tests.support.chaos import WatchedRun, wait_while_running
from tests.support.lake import DEFAULT_STREAMS, listed_records, require_manifest, source_fields

EL = ("run", "tap-igdb", "target-s3")


def assert_lake_equals_source(pipeline: Pipeline, stream: str) -> None:
    records = [source_fields(r) for r in listed_records(pipeline.lake, stream)]
    ids = Counter(r["id"] for r in records)
    assert not [i for i, n in ids.items() if n > 1], f"{stream}: ids listed twice"
    assert sorted(records, key=lambda r: r["id"]) == pipeline.emulator.truth(stream)


def test_first_run_lands_every_default_stream_exactly_once(dev_pipeline: Pipeline) -> None:
    dev_pipeline.meltano(*EL)

    for stream in DEFAULT_STREAMS:
        assert_lake_equals_source(dev_pipeline, stream)
    games = dev_pipeline.state()["singer_state"]["bookmarks"]["games"]
    max_updated_at = max(g["updated_at"] for g in dev_pipeline.emulator.truth("games"))
    assert games["replication_key_value"] == max_updated_at
    assert isinstance(games["replication_key_value"], int)


def test_second_run_reads_only_changed_records_and_moves_the_bookmark(
    dev_pipeline: Pipeline,
) -> None:
    dev_pipeline.meltano(*EL)
    before = dev_pipeline.state()["singer_state"]["bookmarks"]["games"]["replication_key_value"]
    first_files = {f["key"] for f in require_manifest(dev_pipeline.lake, "games")["files"]}
    change = dev_pipeline.emulator.advance_day(changed=40, added=10, deleted=0, endpoint="games")

    dev_pipeline.meltano(*EL)

    games = require_manifest(dev_pipeline.lake, "games")
    new_files = [f for f in games["files"] if f["key"] not in first_files]
    assert len(games["files"]) == len(first_files) + len(new_files)  # appended
    day_two = listed_records(dev_pipeline.lake, "games")[-sum(f["records"] for f in new_files) :]
    lookback = 3600
    overlap = {
        g["id"]
        for g in dev_pipeline.emulator.truth("games")
        if g["updated_at"] >= before - lookback
    }
    assert {r["id"] for r in day_two} == set(change.changed) | set(change.added) | overlap
    after = dev_pipeline.state()["singer_state"]["bookmarks"]["games"]["replication_key_value"]
    assert after == max(g["updated_at"] for g in dev_pipeline.emulator.truth("games")) > before


def test_full_refresh_reads_everything_again_as_a_new_table_version(
    dev_pipeline: Pipeline,
) -> None:
    dev_pipeline.meltano(*EL)
    old = require_manifest(dev_pipeline.lake, "games")
    dev_pipeline.emulator.advance_day(changed=5, added=5, deleted=7, endpoint="games")

    dev_pipeline.meltano("run", "--full-refresh", "tap-igdb", "target-s3")

    new = require_manifest(dev_pipeline.lake, "games")
    assert new["table_version"] > old["table_version"]
    assert not {f["key"] for f in new["files"]} & {f["key"] for f in old["files"]}
    assert all(f["table_version"] == new["table_version"] for f in new["files"])
    assert_lake_equals_source(dev_pipeline, "games")  # the 7 deleted games are gone


def test_requests_stay_within_igdb_limits_on_a_multi_page_extraction(
    tmp_path: Path, igdb_emulator_factory: EmulatorFactory
) -> None:
    # The data exists before the run, as at IGDB: a table built lazily by the first
    # request for it would hold the emulator's CPU for seconds, and the requests queued
    # behind it would reach its limiter together (a 429 of the emulator's making).
    dataset = Dataset.generate(games=30_000, seed=3)
    dataset.build(DEFAULT_STREAMS)
    emulator = igdb_emulator_factory(dataset, EmulatorConfig())
    pipeline = Pipeline(tmp_path, emulator, pipeline_environment(tmp_path, emulator))

    pipeline.meltano(*EL)

    assert_lake_equals_source(pipeline, "games")
    # IGDB limits API requests; the token comes from Twitch, another host.
    api = [r for r in emulator.request_log if r.endpoint != "oauth2/token"]
    assert not [r for r in emulator.request_log if r.status == 429]
    starts = sorted(r.time for r in api)
    busiest = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    assert busiest <= 4
    assert emulator.tokens_issued == 1


def test_about_and_discover_work_offline(dev_pipeline: Pipeline) -> None:
    offline = {
        "TAP_IGDB_API_URL": "http://127.0.0.1:9/v4",
        "TAP_IGDB_AUTH_URL": "http://127.0.0.1:9/t",
    }

    about = dev_pipeline.meltano("invoke", "tap-igdb", "--about", "--format=json", env=offline)
    discover = dev_pipeline.meltano("invoke", "tap-igdb", "--discover", env=offline)

    assert json.loads(about.stdout)["name"] == "tap-igdb"
    catalog = json.loads(discover.stdout)
    assert len(catalog["streams"]) == 74  # a stream for every IGDB entity endpoint
    for stream in catalog["streams"]:
        assert stream["key_properties"] == ["id"], stream["tap_stream_id"]
        assert stream["replication_method"] in ("INCREMENTAL", "FULL_TABLE")
        assert stream["schema"]["properties"]
    assert dev_pipeline.emulator.request_log == []


FAST_RETRIES = {"TAP_IGDB_BACKOFF_BASE_MS": "50", "TAP_IGDB_BACKOFF_MAX_MS": "500"}
FAULTS = {
    # fault, extra settings, what the tap logs when it handles it
    "429 storm": (Fault.rate_limit(count=6), {}, "IGDB answered 429"),  # < 8 retries
    "502 burst": (Fault.server_error(count=6, status=502), {}, "IGDB answered 502"),
    # Held until the tap hangs up: no answer comes before its timeout, however late it fires.
    "no answer before the timeout": (
        Fault.hold(count=2),
        {"TAP_IGDB_REQUEST_TIMEOUT": "1"},
        "no answer within request_timeout (1s)",
    ),
    "truncated JSON": (Fault.truncated_json(count=3), {}, "invalid or truncated JSON"),
    "invalid JSON": (Fault.invalid_json(count=3), {}, "invalid or truncated JSON"),
    "token expires mid-run": (
        Fault.expire_tokens_after(requests=3),
        {},
        "refused the access token (401)",
    ),
}


@pytest.mark.parametrize(("fault", "settings", "handled"), FAULTS.values(), ids=FAULTS.keys())
@pytest.mark.fault_matrix(
    fault="{id}",
    injected="emulator (IGDB)",
    outcome="survived: retried with bounded backoff",
    check="every default stream's lake equals the source",
)
def test_transient_faults_are_survived_with_correct_data(
    dev_pipeline: Pipeline, fault: Fault, settings: dict[str, str], handled: str
) -> None:
    dev_pipeline.emulator.faults.add(fault)

    result = dev_pipeline.meltano(*EL, env={**FAST_RETRIES, **settings})

    assert handled in result.stdout + result.stderr, "the fault never reached the tap"
    for stream in DEFAULT_STREAMS:
        assert_lake_equals_source(dev_pipeline, stream)


@pytest.mark.fault_matrix(
    fault="access token revoked mid-run",
    injected="emulator (Twitch), while the tap's third API request is held on arrival",
    outcome="survived: one new token",
    check="every default stream's lake equals the source",
)
def test_a_token_revoked_mid_run_is_fetched_again_once(dev_pipeline: Pipeline) -> None:
    emulator = dev_pipeline.emulator
    emulator.faults.add(Fault.hold(after=2))  # the third API request waits on arrival
    run = WatchedRun(dev_pipeline.start_meltano(*EL))
    wait_while_running(
        run,
        lambda seconds: emulator.faults.wait_held(timeout=seconds),
        timeout=RUN_TIMEOUT_S,
        what="a third API request",
    )
    emulator.faults.add(Fault.revoke_tokens())
    emulator.faults.release()  # it meets the revoked token: at least one 401, mid-run
    returncode = run.wait(RUN_TIMEOUT_S)
    output = run.output()

    assert returncode == 0, output[-3000:]
    assert "refused the access token (401)" in output
    assert emulator.tokens_issued == 2
    for stream in DEFAULT_STREAMS:
        assert_lake_equals_source(dev_pipeline, stream)


@pytest.mark.fault_matrix(
    fault="persistent 502 outage during a full refresh",
    injected="emulator (IGDB)",
    outcome="fails loudly after bounded retries",
    check="manifests and state unchanged",
)
def test_a_persistent_outage_fails_loudly_and_keeps_the_previous_data(
    dev_pipeline: Pipeline,
) -> None:
    dev_pipeline.meltano(*EL)
    before = require_manifest(dev_pipeline.lake, "games")
    state_before = dev_pipeline.state()
    dev_pipeline.emulator.faults.add(Fault.server_error(count=10_000, status=502))

    result = dev_pipeline.meltano(
        "run",
        "--full-refresh",
        *EL[1:],
        check=False,
        env={"TAP_IGDB_MAX_RETRIES": "2", "TAP_IGDB_BACKOFF_BASE_MS": "50"},
    )

    assert result.returncode != 0
    assert "giving up after 3 attempts" in result.stdout + result.stderr
    assert require_manifest(dev_pipeline.lake, "games") == before
    assert dev_pipeline.state() == state_before
    _: Emulator = dev_pipeline.emulator
