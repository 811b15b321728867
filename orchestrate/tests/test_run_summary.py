"""The run summary: Meltano's JSON log + the manifests -> one line and one JSON file."""

import contextlib
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from seaweedfs_fixture import SeaweedFS
from target_s3 import lake
from target_s3.lake import Manifest, ManifestFile
from target_s3.storage import LocalStorage, S3Settings, S3Storage, make_s3_client
from target_s3.target import TargetS3

from orchestrate.run_summary import (
    Locations,
    SummaryError,
    json_log_file,
    lake_manifests,
    place_at,
    read_events,
    summarise,
    write_summary,
)

RUN = "0190-run-b"
ROOT = Path(__file__).resolve().parents[2]
TARGET_INPUTS = ROOT / "target-s3" / "tests" / "resources"


def event(text: str, run_id: str = RUN, at: str = "2026-11-26T05:00:10.5Z", **extra: Any) -> str:
    return json.dumps({"event": text, "run_id": run_id, "timestamp": at, **extra})


def metric(stream: str, name: str, value: float, *, producer: bool = True) -> str:
    info = {"type": "counter", "metric": name, "value": value, "tags": {"stream": stream}}
    return event("METRIC", metric_info=info, producer=producer)


LOG = [
    "not json at all",
    event("Run completed", run_id="0190-run-a", at="2026-11-25T05:00:00Z", status="success"),
    event("Running job", at="2026-11-26T05:00:10.5Z"),
    metric("games", "record_count", 40),
    metric("games", "sync_duration", 2.5),
    metric("games", "batch_processing_time", 9.0, producer=False),  # the target's
    metric("platforms", "record_count", 3),
    metric("platforms", "sync_duration", 0.25),
    event("Extension executing `dbt run`..."),
    event("\x1b[0m05:01:00  Done. PASS=30 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=30"),
    event("Extension executing `dbt test`..."),
    event("\x1b[0m05:01:30  Done. PASS=127 WARN=1 ERROR=0 SKIP=0 NO-OP=0 TOTAL=128"),
    event("Run completed", at="2026-11-26T05:01:40Z", status="success", duration_seconds=90.0),
]


def manifest(stream: str, *files: tuple[str, int, int]) -> Manifest:
    return Manifest(
        stream=stream,
        layout="incremental",
        table_version=1,
        files=[
            ManifestFile(f"raw/{stream}/{i}.jsonl.gz", n, b, None, at, 1)
            for i, (at, n, b) in enumerate(files)
        ],
    )


MANIFESTS = [
    # one file from yesterday, two from this run (the first in the run's first second)
    manifest(
        "games",
        ("2026-11-25T05:00:03Z", 600, 60000),
        ("2026-11-26T05:00:10Z", 30, 3000),
        ("2026-11-26T05:00:20Z", 10, 1000),
    ),
    manifest("platforms", ("2026-11-26T05:00:30Z", 3, 300)),
    manifest("genres", ("2026-11-25T05:00:03Z", 23, 2300)),  # not read this run
]


def test_the_last_run_is_summarised_per_stream_from_the_log_and_the_manifests() -> None:
    summary = summarise(read_events(LOG), MANIFESTS)

    document = summary.as_json()
    assert document["run_id"] == RUN
    assert document["status"] == "success"
    assert document["duration_seconds"] == 90.0
    assert document["started_at"] == "2026-11-26T05:00:10Z"
    assert document["streams"] == [
        {
            "stream": "games",
            "records": 40,
            "files": 2,
            "bytes": 4000,
            "seconds": 2.5,
            "records_extracted": 40,
        },
        {
            "stream": "platforms",
            "records": 3,
            "files": 1,
            "bytes": 300,
            "seconds": 0.25,
            "records_extracted": 3,
        },
    ]
    assert document["totals"] == {
        "records": 43,
        "files": 3,
        "bytes": 4300,
        "models_built": 30,
        "tests_passed": 127,
    }
    assert [d["command"] for d in document["dbt"]] == ["run", "test"]
    assert document["dbt"][1]["warned"] == 1


def test_the_log_line_names_every_stream_and_the_dbt_results() -> None:
    line = summarise(read_events(LOG), MANIFESTS).log_line()
    assert "\n" not in line
    assert f"run {RUN} success in 90.0 s" in line
    assert "games 40 rec/2 files/4000 B/2.5 s" in line
    assert "30 models built, 127 tests passed" in line


def test_a_run_that_died_is_reported_unfinished() -> None:
    summary = summarise(read_events(LOG[:-3]), MANIFESTS)
    assert summary.status == "unfinished"
    assert summary.duration_seconds is None
    assert [d.command for d in summary.dbt] == ["run"]


def test_a_log_without_a_run_is_one_clear_error() -> None:
    with pytest.raises(SummaryError, match="no `meltano run`"):
        summarise(read_events(["{}", "junk"]), MANIFESTS)


def local_locations(root: Path) -> Locations:
    return Locations(str(root / "lake"), "raw", str(root / "marts"), None, None)


def test_the_summary_is_written_next_to_the_mart(tmp_path: Path) -> None:
    where = local_locations(tmp_path)
    storage = LocalStorage(tmp_path / "lake")
    for item in MANIFESTS:
        storage.write(lake.manifest_key("raw", item.stream, item.layout), item.to_json())
    summary = summarise(read_events(LOG), lake_manifests(where))

    written = write_summary(where, summary)

    assert written == str(tmp_path / "marts" / "_runs" / f"20261126T050010Z-{RUN}.json")
    runs = sorted(p.name for p in (tmp_path / "marts" / "_runs").iterdir())
    assert runs == [f"20261126T050010Z-{RUN}.json", "latest.json"]
    latest = json.loads((tmp_path / "marts" / "_runs" / "latest.json").read_text())
    assert latest["totals"]["records"] == 43


def test_a_run_is_chosen_by_its_id() -> None:
    summary = summarise(read_events(LOG), MANIFESTS, run_id="0190-run-a")
    assert summary.run_id == "0190-run-a"
    assert summary.streams[0].stream == "games"
    with pytest.raises(SummaryError, match="no run with id 0190-nope"):
        summarise(read_events(LOG), MANIFESTS, run_id="0190-nope")


def test_the_log_file_is_found_in_meltanos_log_config(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    assert json_log_file(root / "orchestrate" / "logging.yaml") == (
        root / ".meltano" / "meltano-log.jsonl"
    )
    console_only = tmp_path / "console.yaml"
    console_only.write_text("version: 1\nhandlers:\n  console:\n    class: logging.StreamHandler\n")
    with pytest.raises(SummaryError, match="writes no JSON log file"):
        json_log_file(console_only)


def target_run(config: dict[str, Any], *inputs: str) -> None:
    """The real target, in-process, loading recorded tap outputs."""
    lines = "".join((TARGET_INPUTS / name).read_text(encoding="utf-8") for name in inputs)
    with contextlib.redirect_stdout(io.StringIO()):
        TargetS3(config=config).listen(io.StringIO(lines))


def log_from(started: dt.datetime) -> list[str]:
    at = started.isoformat().replace("+00:00", "Z")
    return [
        event("Running job", at=at),
        event("Run completed", at=at, status="success", duration_seconds=1.0),
    ]


def test_a_lake_the_target_wrote_is_summarised_for_both_layouts(tmp_path: Path) -> None:
    started = dt.datetime.now(tz=dt.UTC)
    target_run(
        {"local_path": str(tmp_path / "lake")},
        "games_incremental.singer",
        "genres_snapshot.singer",
    )

    summary = summarise(read_events(log_from(started)), lake_manifests(local_locations(tmp_path)))

    assert [(s.stream, s.records, s.files) for s in summary.streams] == [
        ("games", 100, 1),
        ("genres", 23, 1),
    ]


def test_an_s3_lake_is_read_and_the_summary_written_under_an_s3_mart_root(
    seaweedfs: SeaweedFS, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = dt.datetime.now(tz=dt.UTC)
    target_run(
        {
            "bucket": s3_bucket,
            "endpoint_url": seaweedfs.endpoint_url,
            "region": seaweedfs.region,
            "aws_access_key_id": seaweedfs.access_key,
            "aws_secret_access_key": seaweedfs.secret_key,
        },
        "games_incremental.singer",
    )
    # The summary uses the standard credential chain, as in GitHub Actions.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweedfs.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweedfs.secret_key)
    where = Locations(
        f"s3://{s3_bucket}",
        "raw",
        f"s3://{s3_bucket}/marts/igdb",
        seaweedfs.endpoint_url,
        seaweedfs.region,
        max_retries=1,
    )

    summary = summarise(read_events(log_from(started)), lake_manifests(where))
    written = write_summary(where, summary)

    assert [(s.stream, s.records) for s in summary.streams] == [("games", 100)]
    assert written == f"s3://{s3_bucket}/marts/igdb/_runs/{summary_name(summary)}"
    latest = seaweedfs.client().get_object(Bucket=s3_bucket, Key="marts/igdb/_runs/latest.json")
    assert json.loads(latest["Body"].read())["totals"]["records"] == 100


def summary_name(summary: Any) -> str:
    return f"{summary.started_at.replace('-', '').replace(':', '')}-{summary.run_id}.json"


def retries(client: Any) -> Any:
    """botocore's retry configuration of a client (its stubs do not declare it)."""
    return client.meta.config.retries


def test_s3_calls_retry_as_target_s3_does_with_its_max_retries() -> None:
    where = Locations("s3://lake", "raw", "s3://marts", "http://127.0.0.1:9", "us-east-1", 2)
    targets = make_s3_client(S3Settings("lake", "http://127.0.0.1:9", "us-east-1", max_retries=2))

    storage = place_at(where.lake_root, where).storage

    assert isinstance(storage, S3Storage)
    assert retries(storage.client) == retries(targets)
    assert storage.max_retries == 2  # and its messages count them the same way


def test_a_root_that_is_neither_a_directory_nor_s3_is_one_clear_error() -> None:
    where = Locations("https://cdn.example.com", "raw", "s3://", None, None)
    with pytest.raises(SummaryError, match="use a directory or s3:// URL"):
        lake_manifests(where)
    with pytest.raises(SummaryError, match="no bucket"):
        place_at(where.mart_root, where)


def test_a_job_run_task_set_by_task_set_is_one_run_failed_if_any_set_failed() -> None:
    """orchestrate/run_job.py runs each task set as its own `meltano run` under one
    run id: the EL set failed (one stream), the dbt set still ran."""
    log = [
        event("Running job", at="2026-11-26T05:00:00Z"),
        metric("games", "record_count", 40),
        event("Run completed", at="2026-11-26T05:01:00Z", status="failure", duration_seconds=60.0),
        event("Extension executing `dbt run`..."),
        event("\x1b[0m05:01:30  Done. PASS=30 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=30"),
        event("Run completed", at="2026-11-26T05:02:00Z", status="success", duration_seconds=30.0),
    ]
    summary = summarise(read_events(log), MANIFESTS)

    assert summary.status == "failure"
    assert summary.duration_seconds == 90.0
    assert summary.models_built == 30
