"""The fault-matrix report: tests marked `fault_matrix` become docs/reliability.md rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.meltano_env import ROOT

pytest_plugins = ["pytester"]

MARKED_TESTS = """
import pytest

from tests.support.meltano_env import ROOT

@pytest.mark.fault_matrix(
    fault="429 storm", injected="emulator", outcome="survived", check="lake equals source"
)
def test_storm():
    pass

@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.fault_matrix(
    fault="kill -9 the tap (seed {seed})", injected="process", outcome="rerun", check="dim_games"
)
def test_kill(seed):
    assert seed == 1

def test_unmarked():
    pass
"""


def run_with_report(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, Path]:
    pytester.makepyfile(test_faults=MARKED_TESTS)
    report = pytester.path / "reliability.md"
    plugin = ("-p", "tests.support.fault_matrix", f"--fault-matrix={report}")
    result = pytester.runpytest(*plugin, *args)
    return result, report


def test_a_full_run_writes_one_row_per_marked_case_with_its_result(
    pytester: pytest.Pytester,
) -> None:
    result, report = run_with_report(pytester)

    result.assert_outcomes(passed=3, failed=1)
    rows = [line for line in report.read_text().splitlines() if line.startswith("| ")][2:]
    assert rows == [  # in test id order
        "| kill -9 the tap (seed 1) | process | rerun | dim_games | passed | `test_kill[1]` |",
        "| kill -9 the tap (seed 2) | process | rerun | dim_games | **failed** | `test_kill[2]` |",
        "| 429 storm | emulator | survived | lake equals source | passed | `test_storm` |",
    ]


def test_a_parallel_run_writes_the_same_rows_from_the_workers_reports(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `make test` runs the suite on pytest-xdist workers: the rows travel in their reports.
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_faults=MARKED_TESTS)
    report = pytester.path / "reliability.md"

    result = pytester.runpytest_subprocess(
        "-p", "tests.support.fault_matrix", f"--fault-matrix={report}", "-n", "2"
    )

    result.assert_outcomes(passed=3, failed=1)
    rows = [line for line in report.read_text().splitlines() if line.startswith("| ")][2:]
    assert [row.rsplit("|", 3)[1].strip() for row in rows] == ["passed", "**failed**", "passed"]


def test_a_filtered_run_leaves_the_report_alone(pytester: pytest.Pytester) -> None:
    result, report = run_with_report(pytester, "-k", "storm")

    result.assert_outcomes(passed=1, deselected=3)
    assert not report.exists()


def test_the_committed_report_lists_every_case_as_passed() -> None:
    text = (ROOT / "docs" / "reliability.md").read_text()

    rows = [line for line in text.splitlines() if line.startswith("| ")][2:]
    assert len(rows) >= 20
    assert all("| passed |" in row for row in rows)
