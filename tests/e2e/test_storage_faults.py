"""Storage faults on the prod pipeline (real SeaweedFS): an outage, a denied write, no bucket.

The rule of every fault: the run survives it, or fails with one clear line
naming the cause and leaves the lake and the state as they were; then the
same command, once the fault has cleared, builds dim_games equal to the source.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from igdb_emulator import Dataset, Emulator
from igdb_emulator.pytest_plugin import EmulatorFactory

from tests.e2e.conftest import MAIN_JOB, Pipeline, prod_pipeline_for
from tests.support.dim_games import assert_rows_equal, expected_dim_games
from tests.support.lake import DEFAULT_STREAMS, Lake, listed_records, manifest
from tests.support.seaweedfs import S3FaultProxy, SeaweedFS

LOCK_KEY = "raw/_lock.json"
PLUGIN_TRACEBACK = re.compile(r"(tap-igdb|target-s3)\s+Traceback")
# As Meltano prints a line target-s3 logged at ERROR (it prefixes its own messages).
TARGET_ERROR = re.compile(r"\[error\s*\]\s+target-s3\s+target-s3: ")
# Games in files of 1,000 records: five games files, the outage starts at the second.
OUTAGE_GAMES = 5_000
SMALL_FILES = {"TARGET_S3_BATCH_SIZE_RECORDS": "1000"}
GAMES_FILE = r"^raw/games/(dt=[^/]+/)?batch-"
# target-s3 settings, how many requests the outage refuses (None: every one until
# the run has failed), whether the run must fail
OUTAGES = {
    # botocore's standard retries (5 by default) outlast three refusals of one request.
    "3 requests refused, within the retries": ({}, 3, False),
    "every request refused, beyond 1 retry": ({"TARGET_S3_MAX_RETRIES": "1"}, None, True),
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


@pytest.mark.slow
@pytest.mark.parametrize(("settings", "refusals", "fails"), OUTAGES.values(), ids=OUTAGES.keys())
@pytest.mark.fault_matrix(
    fault="S3 unreachable for target-s3 from its 2nd games file on, {id}",
    injected="S3 fault proxy in front of SeaweedFS: connections reset from that PUT on",
    outcome="survived by bounded retries, or fails loudly with one line; then rerun",
    check="the refused write retried; every listed file exists whole; "
    "dim_games equals the source after the rerun",
)
def test_an_s3_outage_mid_write_is_survived_within_the_retries_or_one_line_then_rerun(
    tmp_path: Path,
    igdb_emulator_factory: EmulatorFactory,
    seaweedfs: SeaweedFS,
    s3_bucket: str,
    s3_fault_proxy: S3FaultProxy,
    settings: dict[str, str],
    refusals: int | None,
    fails: bool,
) -> None:
    """The outage starts at a request the proxy picks itself (the second games file's PUT),
    so it always falls while target-s3 writes, and it lasts a number of refused requests,
    not seconds: within the retries, or until the run has failed. Only target-s3 goes
    through the proxy: Meltano's state and dbt reach SeaweedFS directly."""
    emulator = igdb_emulator_factory(Dataset.generate(games=OUTAGE_GAMES, seed=11))
    pipeline = prod_pipeline_for(tmp_path, emulator, seaweedfs, s3_bucket)
    pipeline.env.update(
        {**SMALL_FILES, **settings, "TARGET_S3_ENDPOINT_URL": s3_fault_proxy.endpoint_url}
    )
    s3_fault_proxy.fail_from("PUT", key=GAMES_FILE, after=1, refusals=refusals)

    result = pipeline.meltano(*MAIN_JOB, check=False)

    output = result.stdout + result.stderr
    refused = s3_fault_proxy.refused()
    assert refused, f"the outage never began (no second games file):\n{output[-3000:]}"
    first = refused[0]
    assert (first.method, re.match(GAMES_FILE, first.key) is not None) == ("PUT", True)
    attempts = [  # to write the file (its tagging is a PUT on the same key)
        seen
        for seen in s3_fault_proxy.requests
        if (seen.method, seen.key) == ("PUT", first.key) and "tagging" not in seen.query
    ]
    print(f"{len(refused)} requests refused; {len(attempts)} attempts to write {first.key}")
    assert len(attempts) >= 2, "the refused write was never retried"
    if fails:
        assert result.returncode != 0
        assert all(seen.refused for seen in attempts)
        target_error(output, "cannot reach S3", f"s3://{s3_bucket}/raw/games/")
        s3_fault_proxy.heal()
    else:
        assert result.returncode == 0, output[-3000:]
        assert len(refused) == refusals
        assert not attempts[-1].refused
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
