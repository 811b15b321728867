"""The run summary: Meltano's JSON log + the manifests -> one line and one JSON file."""

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrate.run_summary import (
    LocalStore,
    SummaryError,
    json_log_file,
    read_events,
    summarise,
    summary_keys,
)

RUN = "0190-run-b"


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


def manifest(stream: str, *files: tuple[str, int, int]) -> dict[str, Any]:
    return {
        "stream": stream,
        "files": [
            {"key": f"raw/{stream}/{i}.jsonl.gz", "loaded_at": at, "records": n, "bytes": b}
            for i, (at, n, b) in enumerate(files)
        ],
    }


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


def test_the_summary_is_written_next_to_the_mart(tmp_path: Path) -> None:
    lake = LocalStore(tmp_path / "lake")
    for item in MANIFESTS:
        path = tmp_path / "lake" / "raw" / str(item["stream"]) / "_manifest.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(item))
    summary = summarise(read_events(LOG), lake.manifests("raw"))
    marts = LocalStore(tmp_path / "marts")

    for key in summary_keys(summary):
        marts.write(key, json.dumps(summary.as_json()).encode())

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
