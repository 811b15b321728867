"""`python -m bench`: run the scenarios, write bench/results/*.json, refresh docs/performance.md."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import machine
from bench.report import latest_scenarios, render_tables, replace_generated_section
from bench.runner import ROOT, Options, run_document, run_size
from bench.scenarios import SCENARIOS

RESULTS_DIR = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "performance.md"
DEFAULT_GAMES = 375_000


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--games", type=_positive, nargs="+", default=[DEFAULT_GAMES],
        help=f"source sizes to run (default {DEFAULT_GAMES}; e.g. --games 100000 375000)",
    )  # fmt: skip
    parser.add_argument(
        "--scenario", choices=list(SCENARIOS), action="append", dest="scenarios",
        help="run only these scenarios (repeatable; default all)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=7, help="the emulator's generator seed")
    parser.add_argument(
        "--changed-fraction", type=_fraction, default=0.01,
        help="share of games changed for the incremental day (default 0.01)",
    )  # fmt: skip
    parser.add_argument("--note", default="", help="a note stored with the results")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--docs", type=Path, default=DOCS, help="Markdown file to refresh")
    parser.add_argument("--no-docs", action="store_true", help="leave the docs file alone")
    parser.add_argument("--workdir", type=Path, help="keep lakes, logs and state here")
    parser.add_argument(
        "--report-only", action="store_true",
        help="run nothing: print the table of the stored results (and refresh the docs)",
    )  # fmt: skip
    return parser.parse_args(argv)


def load_runs(results_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(results_dir.glob("*.json"))]


def run_benchmarks(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run every selected scenario at every size; write what finished to one JSON file."""
    scenarios = [SCENARIOS[name] for name in (args.scenarios or SCENARIOS)]
    started = dt.datetime.now(dt.UTC)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="igdb-bench-"))
    results: list[dict[str, Any]] = []
    try:
        for games in args.games:
            options = Options(games, args.seed, args.changed_fraction, workdir / str(games))
            results += run_size(scenarios, options, say=lambda line: print(line, flush=True))
    finally:
        if results:
            document = run_document(
                results,
                started=started,
                args={k: str(v) for k, v in vars(args).items()},
                machine=machine.machine(),
                versions=machine.versions(),
                git=machine.git(ROOT),
                note=args.note,
            )
            args.results_dir.mkdir(parents=True, exist_ok=True)
            path = args.results_dir / f"{document['date'].replace(':', '')}.json"
            path.write_text(json.dumps(document, indent=2) + "\n")
            print(f"results: {path}")
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = [] if args.report_only else run_benchmarks(args)
    table = render_tables(latest_scenarios(load_runs(args.results_dir)))
    print(table)
    if not args.no_docs:
        args.docs.write_text(replace_generated_section(args.docs.read_text(), table))
        print(f"refreshed {args.docs}")
    failed = [r["scenario"] for r in results if not r["correctness"]["passed"]]
    rejected = [
        r["scenario"]
        for r in results
        for step in r["steps"]
        if step.get("source_requests", {}).get("rejected", 0) > 0
    ]
    if failed or rejected:
        print(f"FAILED: dim_games wrong in {failed}; 429s received in {rejected}", file=sys.stderr)
        return 1
    return 0
