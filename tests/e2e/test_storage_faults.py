"""Storage faults on the prod pipeline (real SeaweedFS): an outage, a denied write, no bucket.

The rule of every fault: the run survives it, or fails with one clear line
naming the cause and leaves the lake and the state as they were; then the
same command, once the fault has cleared, builds dim_games equal to the source.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from igdb_emulator import Dataset, Emulator
from igdb_emulator.pytest_plugin import EmulatorFactory

from tests.e2e.conftest import MAIN_JOB, RUN_TIMEOUT_S, Pipeline, prod_pipeline_for
from tests.support.chaos import WatchedRun
from tests.support.dim_games import assert_rows_equal, expected_dim_games
from tests.support.lake import DEFAULT_STREAMS, Lake, listed_records, manifest
from tests.support.seaweedfs import SeaweedFS, start_seaweedfs

LOCK_KEY = "raw/_lock.json"
PLUGIN_TRACEBACK = re.compile(r"(tap-igdb|target-s3)\s+Traceback")
# As Meltano prints a line target-s3 logged at ERROR (it prefixes its own messages).
TARGET_ERROR = re.compile(r"\[error\s*\]\s+target-s3\s+target-s3: ")
# Meltano's own error when it cannot save state (kept in the same bucket).
MELTANO_STATE_FAILURE = "Failed to persist incremental state to the configured backend"
# Enough games, in files of 1,000 records, that target-s3 is still writing
# when the server goes away.
OUTAGE_GAMES = 20_000
SMALL_FILES = {"TARGET_S3_BATCH_SIZE_RECORDS": "1000"}
# outage seconds, target-s3 settings, whether the run must fail
OUTAGES = {
    # botocore's standard retries (5, backoff up to 1+2+4+8+16 s) usually outlast it.
    "3 s, within the retries": (3.0, {}, False),
    "20 s, beyond 1 retry": (20.0, {"TARGET_S3_MAX_RETRIES": "1"}, True),
}


def truth(emulator: Emulator) -> dict[int, dict[str, object]]:
    return expected_dim_games({stream: emulator.truth(stream) for stream in DEFAULT_STREAMS})


def target_error(output: str, *naming: str) -> str:
    """target-s3's one error line (it must be the only one), which must contain `naming`."""
    errors = [line for line in output.splitlines() if TARGET_ERROR.search(line)]
    assert len(errors) == 1, f"expected one target-s3 error line:\n{output[-4000:]}"
    assert not PLUGIN_TRACEBACK.search(output), output[-4000:]
    for text in naming:
        assert text in errors[0], f"{text!r} not in {errors[0]!r}"
    return errors[0]


def assert_lake_consistent(lake: Lake) -> None:
    """Each default stream lists every file once, and every listed file exists whole."""
    for stream in DEFAULT_STREAMS:
        current = manifest(lake, stream)
        keys = [item["key"] for item in current["files"]] if current else []
        assert len(keys) == len(set(keys)), f"{stream}: a file is listed twice"
        listed_records(lake, stream)  # asserts each file exists with its record count


def games_bookmark(pipeline: Pipeline) -> Any:
    return pipeline.state()["singer_state"]["bookmarks"]["games"]


def deny_writes_under(client: Any, bucket: str, prefix: str) -> None:
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/{prefix}*",
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def wait_for(condition: Callable[[], bool], run: WatchedRun, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert run.process.poll() is None, f"the run ended before {what}:\n{run.output()[-3000:]}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.2)  # polling the bucket; the deadline bounds the wait


@pytest.fixture
def own_seaweedfs(tmp_path: Path) -> Iterator[SeaweedFS]:
    """A server of this test's own: stopping the session's would break other tests' clients."""
    server = start_seaweedfs(tmp_path / "seaweedfs")
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize(("outage", "settings", "fails"), OUTAGES.values(), ids=OUTAGES.keys())
@pytest.mark.fault_matrix(
    fault="SeaweedFS killed while target-s3 writes, back after {id}",
    injected="SeaweedFS (S3) process, SIGKILL",
    outcome="survived by bounded retries, or fails loudly with one line; then rerun",
    check="every listed file exists whole; dim_games equals the source after the rerun",
)
def test_s3_stopped_mid_write_and_restarted_is_survived_or_one_line_then_rerun(
    tmp_path: Path,
    igdb_emulator_factory: EmulatorFactory,
    own_seaweedfs: SeaweedFS,
    outage: float,
    settings: dict[str, str],
    fails: bool,
) -> None:
    emulator = igdb_emulator_factory(Dataset.generate(games=OUTAGE_GAMES, seed=11))
    bucket = own_seaweedfs.create_bucket("outage-lake")
    pipeline = prod_pipeline_for(tmp_path, emulator, own_seaweedfs, bucket)
    pipeline.env.update({**SMALL_FILES, **settings})
    run = WatchedRun(pipeline.start_meltano(*MAIN_JOB))
    wait_for(
        lambda: any("/batch-" in key for key in pipeline.lake.keys("raw/games/")),
        run,
        RUN_TIMEOUT_S,
        "games file stored",
    )

    own_seaweedfs.kill()
    assert run.process.poll() is None, "the run ended before the outage began"
    time.sleep(outage)  # the outage itself
    own_seaweedfs.start()
    returncode = run.wait(RUN_TIMEOUT_S)

    output = run.output()
    if fails:
        assert returncode != 0
    if returncode != 0 and not TARGET_ERROR.search(output):
        # Meltano's state write to the same bucket met the outage first and
        # stopped the run, killing target-s3 (its lease is left to the rerun).
        assert MELTANO_STATE_FAILURE in output, output[-4000:]
        assert not PLUGIN_TRACEBACK.search(output), output[-4000:]
    elif returncode != 0:
        target_error(output, "cannot reach S3", f"s3://{bucket}/raw/")
    assert_lake_consistent(pipeline.lake)
    pipeline.meltano(*MAIN_JOB)
    assert_lake_consistent(pipeline.lake)
    assert_rows_equal(pipeline.dim_games(), truth(emulator))
    assert LOCK_KEY not in pipeline.lake.keys("raw/")


@pytest.mark.slow
@pytest.mark.fault_matrix(
    fault="write under raw/games/ denied by a bucket policy (day two)",
    injected="SeaweedFS bucket policy",
    outcome="fails loudly: one line naming the key and AccessDenied; rerun once lifted",
    check="games manifest and bookmark unchanged, lock released; then dim_games equals the source",
)
def test_a_write_denied_mid_run_is_one_line_and_moves_neither_manifest_nor_state(
    prod_pipeline: Pipeline,
) -> None:
    pipeline, emulator, s3 = prod_pipeline, prod_pipeline.emulator, prod_pipeline.s3_lake
    assert s3 is not None
    pipeline.meltano(*MAIN_JOB)
    games_before, bookmark_before = manifest(pipeline.lake, "games"), games_bookmark(pipeline)
    emulator.advance_day(changed=20, added=5, deleted=0, endpoint="games")
    deny_writes_under(s3.client, s3.bucket, "raw/games/")

    failed = pipeline.meltano(*MAIN_JOB, check=False)

    assert failed.returncode != 0
    target_error(
        failed.stdout + failed.stderr, "AccessDenied", f"s3://{s3.bucket}/raw/games/", "PutObject"
    )
    assert manifest(pipeline.lake, "games") == games_before
    assert games_bookmark(pipeline) == bookmark_before
    assert LOCK_KEY not in s3.keys("raw/")  # released on failure too
    s3.client.delete_bucket_policy(Bucket=s3.bucket)
    pipeline.meltano(*MAIN_JOB)
    assert_lake_consistent(pipeline.lake)
    assert_rows_equal(pipeline.dim_games(), truth(emulator))


@pytest.mark.fault_matrix(
    fault="target-s3 given a read-only identity",
    injected="meltano env (SeaweedFS identity)",
    outcome="fails loudly at start: one line naming the key and AccessDenied",
    check="nothing written to the lake; no state saved",
)
def test_read_only_credentials_fail_at_start_with_one_line(
    prod_pipeline: Pipeline, seaweedfs: SeaweedFS
) -> None:
    s3 = prod_pipeline.s3_lake
    assert s3 is not None
    reader = seaweedfs.read_only

    result = prod_pipeline.meltano(
        *MAIN_JOB,
        check=False,
        env={
            "TARGET_S3_AWS_ACCESS_KEY_ID": reader.access_key,
            "TARGET_S3_AWS_SECRET_ACCESS_KEY": reader.secret_key,
        },
    )

    output = result.stdout + result.stderr
    assert result.returncode != 0
    target_error(output, "AccessDenied", f"s3://{s3.bucket}/raw/", "PutObject")
    assert reader.secret_key not in output
    assert s3.keys("raw/") == []
    assert s3.keys("marts/") == []
    assert [key for key in s3.keys("meltano/state") if key.endswith("state.json")] == []


@pytest.mark.fault_matrix(
    fault="lake bucket does not exist",
    injected="meltano env (TARGET_S3_BUCKET)",
    outcome="fails loudly at start: one line naming the bucket",
    check="nothing written to any bucket",
)
def test_a_missing_bucket_fails_at_start_with_one_line_naming_it(
    prod_pipeline: Pipeline,
) -> None:
    s3 = prod_pipeline.s3_lake
    assert s3 is not None

    result = prod_pipeline.meltano(
        *MAIN_JOB, check=False, env={"TARGET_S3_BUCKET": "no-such-lake-bucket"}
    )

    assert result.returncode != 0
    target_error(result.stdout + result.stderr, "bucket 'no-such-lake-bucket' does not exist")
    assert s3.keys("raw/") == []
    assert s3.keys("marts/") == []
    assert [bucket["Name"] for bucket in s3.client.list_buckets()["Buckets"]].count(
        "no-such-lake-bucket"
    ) == 0


@pytest.mark.fault_matrix(
    fault="Meltano's S3 state backend bucket does not exist",
    injected="meltano env (MELTANO_STATE_BACKEND_URI)",
    outcome="fails loudly before any plugin starts: Meltano's line naming the bucket",
    check="nothing written to the lake",
)
def test_a_missing_state_backend_bucket_stops_the_run_before_any_plugin(
    prod_pipeline: Pipeline,
) -> None:
    s3 = prod_pipeline.s3_lake
    assert s3 is not None
    missing = "s3://no-such-state-bucket/meltano/state"

    result = prod_pipeline.meltano(
        *MAIN_JOB, check=False, env={"MELTANO_STATE_BACKEND_URI": missing}
    )

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    assert "'no-such-state-bucket'" in output
    assert "Failed to retrieve state" in output
    assert s3.keys("") == []
