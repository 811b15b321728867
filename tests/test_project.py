"""Project-wide invariants: pinned installs, Meltano definitions, CI entry point."""

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
UV = ROOT / ".tools" / "bin" / "uv"


def test_plugin_constraints_are_exported_from_the_lock_file() -> None:
    """Plugin venvs install with -c requirements/constraints.txt: it must match uv.lock."""
    exported = subprocess.run(
        [str(UV), "export", "--frozen", "--no-hashes", "--no-emit-workspace", "--no-emit-project"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    committed = (ROOT / "requirements" / "constraints.txt").read_text()

    def pins(text: str) -> list[str]:
        return [line for line in text.splitlines() if line and not line.lstrip().startswith("#")]

    assert pins(committed) == pins(exported), (
        "run `make lock` to refresh requirements/constraints.txt"
    )


def test_every_local_plugin_installs_pinned_by_the_constraints() -> None:
    for path in sorted(ROOT.glob("*/*.meltano.yml")):
        definition = yaml.safe_load(path.read_text())
        for plugins in definition.get("plugins", {}).values():
            for plugin in plugins:
                pip_url = plugin.get("pip_url", "")
                assert "-c requirements/constraints.txt" in pip_url, f"{path}: {plugin['name']}"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "exec make test" in ci
    assert "make test" in readme
    assert "make run" in readme
