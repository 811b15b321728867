"""`python -m bench`: bad arguments are named; --report-only refreshes the docs from stored runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.report import END_MARKER, START_MARKER


def test_a_non_positive_size_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--games", "0"])

    assert exit_info.value.code == 2
    assert "argument --games: must be a positive whole number, got 0" in capsys.readouterr().err


def test_report_only_refreshes_the_table_and_keeps_the_log(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    step = {
        "step": "dbt-build", "wall_s": 12.0, "cpu_s": 10.0, "peak_rss_mib": 350.0,
        "processes": {}, "servers": {},
    }  # fmt: skip
    run = {
        "date": "2026-11-26T10:00:00Z",
        "machine": {"cpu": "Test CPU", "cores": 2},
        "scenarios": [
            {
                "scenario": "unthrottled-local",
                "source": "unthrottled",
                "games": 1000,
                "steps": [step],
                "correctness": {"passed": True, "games": 1000, "detail": "equal"},
            }
        ],
    }
    (results / "run.json").write_text(json.dumps(run))
    docs = tmp_path / "performance.md"
    docs.write_text(f"# Perf\n{START_MARKER}\nstale\n{END_MARKER}\n## Optimization log\n- kept\n")

    code = main(["--report-only", "--results-dir", str(results), "--docs", str(docs)])

    assert code == 0
    text = docs.read_text()
    assert "stale" not in text
    assert "| unthrottled-local | 1,000 | dbt-build | 12.0 | 10.0 | 350 |" in text
    assert text.endswith(f"{END_MARKER}\n## Optimization log\n- kept\n")
