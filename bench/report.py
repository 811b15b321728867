"""Results as Markdown: the latest result per scenario and size, for the terminal and the docs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bench.scenarios import SCENARIOS

START_MARKER = "<!-- bench:start -->"
END_MARKER = "<!-- bench:end -->"

Run = Mapping[str, Any]
ScenarioResult = Mapping[str, Any]

SUMMARY_HEADER = (
    "scenario", "games", "step", "wall s", "CPU s", "peak RSS MiB", "records/s",
    "requests", "429s", "floor s", "x floor", "dim_games",
)  # fmt: skip
PROCESS_HEADER = (
    "scenario", "games", "step", "process", "n", "wall s", "CPU s", "peak RSS MiB",
)  # fmt: skip
STREAM_HEADER = ("stream", "records", "bytes", "requests", "blocks", "seconds")
STREAM_CAPTION = (
    "records and bytes landed (the step's new files); the requests naming the stream, where"
    " a multiquery shared by several streams counts as a request of each; its multiquery"
    " blocks; seconds from its first request's start to its last one's end"
)


def latest_scenarios(runs: Iterable[Run]) -> list[tuple[Run, ScenarioResult]]:
    """The newest result of each (scenario, games), in scenario order then size."""
    latest: dict[tuple[str, int], tuple[Run, ScenarioResult]] = {}
    for run in sorted(runs, key=lambda r: str(r["date"])):
        for scenario in run["scenarios"]:
            latest[(scenario["scenario"], scenario["games"])] = (run, scenario)
    order = list(SCENARIOS)

    def rank(key: tuple[str, int]) -> tuple[int, str, int]:
        name, games = key
        return (order.index(name) if name in order else len(order), name, games)

    return [latest[key] for key in sorted(latest, key=rank)]


def _row(cells: Sequence[str]) -> str:
    return "|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(row) for row in rows)]


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _summary_rows(result: ScenarioResult) -> Iterable[list[str]]:
    verdict = "pass" if result["correctness"]["passed"] else "FAIL"
    limited = result.get("source") != "unthrottled"  # a floor only where IGDB's limits apply
    for step in result["steps"]:
        source = step.get("source_requests")
        yield [
            result["scenario"],
            f"{result['games']:,}",
            step["step"],
            _number(step["wall_s"]),
            _number(step["cpu_s"]),
            _number(step["peak_rss_mib"], 0),
            _number(step.get("records_per_s"), 0),
            str(source["requests"]) if source else "",
            str(source["rejected"]) if source else "",
            _number(source["floor_s"]) if source and limited else "",
            _number(source["ratio"], 2) if source and limited else "",
            verdict,
        ]


def _process_rows(result: ScenarioResult) -> Iterable[list[str]]:
    prefix = [result["scenario"], f"{result['games']:,}"]
    for step in result["steps"]:
        for name, numbers in step["processes"].items():
            yield [
                *prefix,
                step["step"],
                name,
                str(numbers["processes"]),
                _number(numbers["wall_s"]),
                _number(numbers["cpu_s"]),
                _number(numbers["peak_rss_mib"], 0),
            ]
        for name, numbers in step.get("servers", {}).items():
            yield [
                *prefix,
                step["step"],
                f"{name} (source)" if name == "emulator" else f"{name} (server)",
                "1",
                "",
                _number(numbers["cpu_s"]),
                _number(numbers["peak_rss_mib"], 0),
            ]


def _has_stream_tables(result: ScenarioResult) -> bool:
    """Only where every stream is selected: elsewhere the numbers stay in the JSON."""
    scenario = SCENARIOS.get(result["scenario"])
    return scenario is not None and scenario.every_stream


def _stream_tables(result: ScenarioResult) -> Iterable[str]:
    for step in result["steps"]:
        if "streams" not in step:
            continue
        streams = sorted(step["streams"].items(), key=lambda item: (-item[1]["records"], item[0]))
        rows = (
            [
                name,
                f"{numbers['records']:,}",
                f"{numbers['bytes']:,}",
                str(numbers["requests"]),
                str(numbers["blocks"]),
                _number(numbers["seconds"]),
            ]
            for name, numbers in streams
        )
        title = f"{result['scenario']}, {result['games']:,} games, {step['step']}"
        yield from ["", f"Per stream: {title} ({STREAM_CAPTION}):", ""]
        yield from _table(STREAM_HEADER, rows)


def _run_line(run: Run, names: list[str]) -> str:
    machine = run["machine"]
    details = [
        f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores",
        f"{machine['ram_gib']:.0f} GiB RAM" if "ram_gib" in machine else "",
        f"Python {machine['python']}" if "python" in machine else "",
        ", ".join(f"{k} {v}" for k, v in run.get("versions", {}).items()),
        f"commit {run['git']['commit'][:10]}{' (modified)' if run['git'].get('dirty') else ''}"
        if "git" in run
        else "",
        f"note: {run['note']}" if run.get("note") else "",
    ]
    return f"- {run['date']} ({', '.join(names)}): " + "; ".join(d for d in details if d)


def render_tables(latest: Sequence[tuple[Run, ScenarioResult]]) -> str:
    """Steps (with floor and ratio), then processes, then per stream for the every-stream
    scenario, then which run each result comes from."""
    runs: dict[str, tuple[Run, list[str]]] = {}
    for run, result in latest:
        runs.setdefault(str(run["date"]), (run, []))[1].append(
            f"{result['scenario']} {result['games']:,}"
        )
    lines = [
        *_table(SUMMARY_HEADER, (row for _, result in latest for row in _summary_rows(result))),
        "",
        *_table(PROCESS_HEADER, (row for _, result in latest for row in _process_rows(result))),
        *(
            line
            for _, result in latest
            if _has_stream_tables(result)
            for line in _stream_tables(result)
        ),
        "",
        "Runs:",
        "",
        *(_run_line(run, names) for run, names in runs.values()),
    ]
    return "\n".join(lines) + "\n"


def replace_generated_section(document: str, generated: str) -> str:
    """Swap what lies between the markers; everything else (the log) is kept as is."""
    start = document.find(START_MARKER)
    end = document.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError(f"docs/performance.md lacks the {START_MARKER} ... {END_MARKER} markers")
    head = document[: start + len(START_MARKER)]
    return f"{head}\n{generated}{document[end:]}"
