"""One summary per pipeline run: per stream records, files, bytes, seconds; dbt results.

Built only from what the run already leaves behind:

- Meltano's JSON log (``orchestrate/logging.yaml`` writes ``.meltano/meltano-log.jsonl``):
  the run's id, status and duration, the tap's Singer SDK metrics (``record_count``,
  ``sync_duration`` per stream) and dbt's ``Done. PASS=.. ERROR=..`` line per command;
- the raw layer's manifests (docs/contracts.md), read through target-s3's own lake
  modules (``target_s3.lake``, ``target_s3.storage``): the files the run listed, with
  their records and bytes (``loaded_at`` at or after the run's start).

The summary is printed as one log line and written as JSON next to the mart:
``{mart_root}/_runs/<started>-<run_id>.json`` and ``{mart_root}/_runs/latest.json``.

    python -m orchestrate.run_summary [--run-id ID] [--log FILE]

The log file is the one the Meltano log config in MELTANO_CLI_LOG_CONFIG (default
``orchestrate/logging.yaml``) writes its JSON lines to.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from target_s3.lake import DEFAULT_PREFIX, Manifest
from target_s3.manifest_store import read_manifests
from target_s3.storage import LocalStorage, S3Settings, S3Storage, Storage, StorageError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LOG_CONFIG = "orchestrate/logging.yaml"
RUNS_FOLDER = "_runs"

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_DBT_COMMAND = re.compile(r"Extension executing `dbt (\w[\w-]*)")
_DBT_DONE = re.compile(
    r"Done\. PASS=(\d+) WARN=(\d+) ERROR=(\d+) SKIP=(\d+)(?: NO-OP=\d+)? TOTAL=(\d+)"
)

Event = dict[str, Any]


class SummaryError(Exception):
    """Nothing to summarise, or a place that cannot be read; one line for the user."""


@dataclass
class StreamSummary:
    stream: str
    records: int = 0  # in the files this run listed in the manifest
    files: int = 0
    bytes: int = 0
    seconds: float | None = None  # the tap's sync_duration
    records_extracted: int | None = None  # the tap's record_count


@dataclass
class DbtSummary:
    command: str  # run, test, build, ...
    passed: int
    warned: int
    errored: int
    skipped: int
    total: int


@dataclass
class RunSummary:
    run_id: str
    status: str  # success, failure, or unfinished (no "Run completed" event)
    started_at: str
    finished_at: str
    duration_seconds: float | None
    streams: list[StreamSummary] = field(default_factory=list)
    dbt: list[DbtSummary] = field(default_factory=list)

    @property
    def models_built(self) -> int:
        return sum(d.passed for d in self.dbt if d.command in {"run", "build"})

    @property
    def tests_passed(self) -> int:
        return sum(d.passed for d in self.dbt if d.command == "test")

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["totals"] = {
            "records": sum(s.records for s in self.streams),
            "files": sum(s.files for s in self.streams),
            "bytes": sum(s.bytes for s in self.streams),
            "models_built": self.models_built,
            "tests_passed": self.tests_passed,
        }
        return document

    def log_line(self) -> str:
        """The summary as one human-readable line."""
        streams = ", ".join(
            f"{s.stream} {s.records} rec/{s.files} files/{s.bytes} B/"
            + ("?" if s.seconds is None else f"{s.seconds:.1f}")
            + " s"
            for s in self.streams
        )
        duration = "?" if self.duration_seconds is None else f"{self.duration_seconds:.1f} s"
        return (
            f"run {self.run_id} {self.status} in {duration}: {streams or 'no streams'}; "
            f"dbt: {self.models_built} models built, {self.tests_passed} tests passed"
        )


def read_events(lines: Iterable[str]) -> list[Event]:
    """The JSON objects of a Meltano JSON log (lines that are not JSON are skipped)."""
    events = []
    for line in lines:
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            event = json.loads(text)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def run_events(events: Sequence[Event], run_id: str | None = None) -> list[Event]:
    """The events of run ``run_id``, or of the most recent run in the log."""
    run_ids = [str(event["run_id"]) for event in events if event.get("run_id")]
    if not run_ids:
        raise SummaryError("the log holds no `meltano run` (no event with a run_id)")
    wanted = run_id or run_ids[-1]
    if wanted not in run_ids:
        raise SummaryError(f"the log holds no run with id {wanted}")
    return [event for event in events if event.get("run_id") == wanted]


def tap_metrics(events: Iterable[Event]) -> dict[str, tuple[int | None, float | None]]:
    """Per stream: records the tap counted and seconds it spent (Singer SDK METRICs)."""
    records: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for event in events:
        info = event.get("metric_info")
        if not isinstance(info, dict) or not event.get("producer"):
            continue
        stream = (info.get("tags") or {}).get("stream")
        if not stream:
            continue
        if info.get("metric") == "record_count":
            records[stream] = records.get(stream, 0) + int(info.get("value", 0))
        elif info.get("metric") == "sync_duration":
            seconds[stream] = seconds.get(stream, 0.0) + float(info.get("value", 0.0))
    return {stream: (records.get(stream), seconds.get(stream)) for stream in {*records, *seconds}}


def dbt_results(events: Iterable[Event]) -> list[DbtSummary]:
    """dbt's closing ``Done. PASS=..`` line of each dbt command the run executed."""
    results = []
    command: str | None = None
    for event in events:
        message = _ANSI.sub("", str(event.get("event", "")))
        if started := _DBT_COMMAND.search(message):
            command = started.group(1)
        elif (done := _DBT_DONE.search(message)) and command is not None:
            passed, warned, errored, skipped, total = (int(n) for n in done.groups())
            results.append(DbtSummary(command, passed, warned, errored, skipped, total))
            command = None
    return results


def run_window(events: Sequence[Event]) -> tuple[dt.datetime, dt.datetime, str, float | None]:
    """Start, end, status and Meltano's duration of the run whose events these are."""
    stamps = [_timestamp(event["timestamp"]) for event in events if event.get("timestamp")]
    if not stamps:
        raise SummaryError("the run's log events carry no timestamps")
    # One `meltano run` per task set when orchestrate/run_job.py runs a job: the run
    # failed if any of them did, and lasted as long as all of them.
    completed = [event for event in events if event.get("event") == "Run completed"]
    if not completed:
        return min(stamps), max(stamps), "unfinished", None
    statuses = [str(event.get("status", "unknown")) for event in completed]
    status = next((s for s in statuses if s != "success"), "success")
    durations = [event.get("duration_seconds") for event in completed]
    known = [float(seconds) for seconds in durations if seconds is not None]
    duration = sum(known) if len(known) == len(durations) else None
    return min(stamps), max(stamps), status, duration


def _timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def landed(manifests: Iterable[Manifest], since: dt.datetime) -> dict[str, tuple[int, int, int]]:
    """Per stream: records, files and bytes of the listed files loaded at or after ``since``."""
    # loaded_at has whole seconds: compare from the start of the run's first second.
    floor = since.replace(microsecond=0)
    totals: dict[str, tuple[int, int, int]] = {}
    for manifest in manifests:
        records, files, size = totals.get(manifest.stream, (0, 0, 0))
        for item in manifest.files:
            if _timestamp(item.loaded_at) >= floor:
                records += item.records
                files += 1
                size += item.bytes
        totals[manifest.stream] = (records, files, size)
    return totals


def summarise(
    events: Sequence[Event], manifests: Sequence[Manifest], run_id: str | None = None
) -> RunSummary:
    """The summary of run ``run_id`` (default: the last) against the lake's ``manifests``."""
    run = run_events(events, run_id)
    started, finished, status, duration = run_window(run)
    metrics = tap_metrics(run)
    files = landed(manifests, started)
    streams = []
    for stream in sorted({*metrics, *(s for s, (_, n, _) in files.items() if n)}):
        records, count, size = files.get(stream, (0, 0, 0))
        extracted, seconds = metrics.get(stream, (None, None))
        streams.append(
            StreamSummary(
                stream=stream,
                records=records,
                files=count,
                bytes=size,
                seconds=None if seconds is None else round(seconds, 3),
                records_extracted=extracted,
            )
        )
    return RunSummary(
        run_id=str(run[0]["run_id"]),
        status=status,
        started_at=_iso(started),
        finished_at=_iso(finished),
        duration_seconds=duration,
        streams=streams,
        dbt=dbt_results(run),
    )


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Locations:
    lake_root: str
    lake_prefix: str
    mart_root: str
    endpoint_url: str | None
    region: str | None
    max_retries: int = S3Settings.max_retries  # target-s3's, for every S3 call here


@dataclass(frozen=True)
class Place:
    """A lake or mart root: target-s3's storage of it, and the key prefix inside it."""

    storage: Storage
    key_prefix: str = ""

    def key(self, key: str) -> str:
        return f"{self.key_prefix}/{key}" if self.key_prefix else key


def place_at(root: str, where: Locations) -> Place:
    """``s3://bucket[/prefix]`` (the standard credential chain: the OIDC role in
    Actions) or a local directory."""
    if root.startswith("s3://"):
        bucket, _, key_prefix = root.removeprefix("s3://").partition("/")
        if not bucket:
            raise SummaryError(f"no bucket in {root!r}")
        settings = S3Settings(
            bucket=bucket,
            endpoint_url=where.endpoint_url,
            region=where.region,
            max_retries=where.max_retries,
        )
        return Place(S3Storage(settings), key_prefix.strip("/"))
    if "://" in root:
        raise SummaryError(f"cannot read or write {root!r}: use a directory or s3:// URL")
    return Place(LocalStorage(Path(root)))


def lake_manifests(where: Locations) -> list[Manifest]:
    """Every stream's manifest in the lake the run wrote."""
    lake = place_at(where.lake_root, where)
    return read_manifests(lake.storage, lake.key(where.lake_prefix))


def write_summary(where: Locations, summary: RunSummary) -> str:
    """The summary as JSON under the mart root, as the run's file and as latest.json."""
    body = (json.dumps(summary.as_json(), indent=2) + "\n").encode()
    marts = place_at(where.mart_root, where)
    run_key, latest_key = summary_keys(summary)
    for key in (run_key, latest_key):
        marts.storage.write(marts.key(key), body)
    return marts.storage.describe(marts.key(run_key))


def meltano_config(plugin: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """``meltano config print <plugin>`` for the active environment (secrets redacted)."""
    meltano = str(Path(sys.executable).with_name("meltano"))
    completed = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [meltano, "config", "print", plugin, "--format=json"],
        cwd=ROOT,
        env=dict(environ),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise SummaryError(f"`meltano config print {plugin}` failed: {last}")
    return dict(json.loads(completed.stdout))


def resolve_locations(environ: Mapping[str, str]) -> Locations:
    """Where the run wrote: target-s3's lake and dbt's mart root, as Meltano resolves them."""
    target = meltano_config("target-s3", environ)
    bucket = target.get("bucket") or ""
    lake_root = f"s3://{bucket}" if bucket else str(target["local_path"])
    # dbt reads IGDB_MART_ROOT itself (profiles.yml); Meltano resolves the prod default.
    mart_root = environ.get("IGDB_MART_ROOT") or meltano_config("dbt-duckdb", environ).get(
        "mart_root"
    )
    return Locations(
        lake_root=lake_root,
        lake_prefix=str(target.get("prefix") or DEFAULT_PREFIX).strip("/"),
        mart_root=str(mart_root or ROOT / "output" / "marts"),
        endpoint_url=target.get("endpoint_url") or None,
        region=target.get("region") or environ.get("AWS_REGION") or None,
        max_retries=int(target.get("max_retries") or S3Settings.max_retries),
    )


def json_log_file(log_config: Path) -> Path:
    """The file Meltano's log config writes JSON lines to (relative to the project root)."""
    import yaml  # noqa: PLC0415 - only needed here

    try:
        config = yaml.safe_load(log_config.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SummaryError(f"cannot read the log config {log_config}: {error}") from error
    handlers = (config or {}).get("handlers") or {}
    formatters = (config or {}).get("formatters") or {}
    for handler in handlers.values():
        formatter = formatters.get(handler.get("formatter"), {})
        if "filename" in handler and "json" in str(formatter.get("()", "")):
            path = Path(handler["filename"])
            return path if path.is_absolute() else ROOT / path
    raise SummaryError(f"the log config {log_config} writes no JSON log file")


def summary_keys(summary: RunSummary) -> tuple[str, str]:
    stamp = summary.started_at.replace("-", "").replace(":", "")
    return f"{RUNS_FOLDER}/{stamp}-{summary.run_id}.json", f"{RUNS_FOLDER}/latest.json"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log",
        type=Path,
        help="Meltano's JSON log file (default: the one MELTANO_CLI_LOG_CONFIG writes)",
    )
    parser.add_argument("--run-id", help="the run to summarise (default: the last in the log)")
    args = parser.parse_args(argv)
    environ = dict(os.environ)
    try:
        log_config = Path(environ.get("MELTANO_CLI_LOG_CONFIG") or DEFAULT_LOG_CONFIG)
        log_config = log_config if log_config.is_absolute() else ROOT / log_config
        log = args.log or json_log_file(log_config)
        if not log.is_file():
            raise SummaryError(  # noqa: TRY301 - one exit path for every problem
                f"no Meltano JSON log at {log} (run with MELTANO_CLI_LOG_CONFIG={log_config})"
            )
        events = read_events(log.read_text(encoding="utf-8").splitlines())
        where = resolve_locations(environ)
        summary = summarise(events, lake_manifests(where), args.run_id)
        written = write_summary(where, summary)
    except (SummaryError, StorageError, BotoCoreError, ClientError, OSError, ValueError) as error:
        print(f"run_summary: {error}", file=sys.stderr)
        return 2
    print(f"run summary: {summary.log_line()}", flush=True)
    print(f"run summary: written to {written}", flush=True)
    return 0 if summary.status == "success" else 1


if __name__ == "__main__":
    raise SystemExit(main())
