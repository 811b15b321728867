"""Project-wide invariants: pinned installs, Meltano definitions, CI entry point."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from tap_igdb.streams import STREAM_TYPES, LookupStream

from orchestrate.constraints import constraints
from tests.support.lake import DEFAULT_STREAMS

ROOT = Path(__file__).resolve().parents[1]


def test_plugin_constraints_are_the_lock_files_pins() -> None:
    """Plugin venvs install with -c requirements/constraints.txt: it must match the lock."""
    lock = (ROOT / "requirements" / "lock.txt").read_text().splitlines()
    committed = (ROOT / "requirements" / "constraints.txt").read_text().splitlines()

    pins = [line for line in committed if line and not line.startswith("#")]
    assert pins == constraints(lock), "run `make lock` to refresh the constraints"


def test_the_lock_pins_every_direct_dependency_with_hashes() -> None:
    lock = (ROOT / "requirements" / "lock.txt").read_text()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    direct = [
        *pyproject["project"]["dependencies"],
        *pyproject["dependency-groups"]["dev"],
        *pyproject["dependency-groups"]["transform"],
    ]
    local = {"tap-igdb", "target-s3", "igdb-emulator", "seaweedfs-fixture"}
    for requirement in direct:
        name = re.split(r"[\[=<>~ ]", requirement, maxsplit=1)[0].lower()
        if name in local:
            continue
        assert re.search(rf"^{re.escape(name)}(\[[^\]]*\])?==", lock, re.M | re.I), name
    assert "--hash=sha256:" in lock
    assert "://" not in lock, "the lock names packages, never index or download URLs"


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


def plugin_definition(path: str) -> dict[str, Any]:
    definition = yaml.safe_load((ROOT / path).read_text())
    plugins = [p for kind in definition["plugins"].values() for p in kind]
    assert len(plugins) == 1
    return dict(plugins[0])


def test_meltano_declares_the_plugins_settings_as_their_about_prints_them() -> None:
    """Each plugin declares its settings once, in code; `make plugin-settings` writes
    the Meltano definitions from `--about` (orchestrate/plugin_settings.py)."""
    result = subprocess.run(
        [sys.executable, "-m", "orchestrate.plugin_settings", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_meltano_settings_keep_what_the_plugins_must_see() -> None:
    """Numbers are never decimals (Meltano cannot serialize a Decimal from an
    environment variable) and integers and booleans pass as strings for the plugin to
    parse; secrets are sensitive (Meltano redacts them)."""
    secrets = {
        "extract/tap-igdb.meltano.yml": {"client_secret"},
        "load/target-s3.meltano.yml": {
            "aws_access_key_id",
            "aws_secret_access_key",
            "aws_session_token",
        },
    }
    for path, secret_names in secrets.items():
        settings = {s["name"]: s for s in plugin_definition(path)["settings"]}
        assert {"string", "date_iso8601", "object"} >= {s["kind"] for s in settings.values()}, path
        assert {n for n, s in settings.items() if s.get("sensitive")} == secret_names, path


def test_constraints_keep_markers_and_drop_extras_and_hashes() -> None:
    lock = [
        "meltano[s3]==4.4.1 \\",
        "    --hash=sha256:abc",
        "    # via igdb-elt",
        "tzdata==2026.6 ; sys_platform == 'win32' \\",
        "    --hash=sha256:def",
    ]
    assert constraints(lock) == ["meltano==4.4.1", "tzdata==2026.6 ; sys_platform == 'win32'"]


def test_the_default_selection_names_streams_the_tap_has_and_every_lookup() -> None:
    selected = plugin_definition("extract/tap-igdb.meltano.yml")["select"]
    assert all(rule.endswith(".*") for rule in selected)
    assert set(DEFAULT_STREAMS) <= {stream.name for stream in STREAM_TYPES}
    lookups = {stream.name for stream in STREAM_TYPES if issubclass(stream, LookupStream)}
    assert lookups <= set(DEFAULT_STREAMS)


# One package each virtualenv imports on every run, and the one it comes from.
IMPORTED_ON_EVERY_RUN = {
    ".venv": "meltano/cli/__init__.py",
    ".meltano/extractors/tap-igdb/venv": "singer_sdk/__init__.py",
    ".meltano/loaders/target-s3/venv": "boto3/__init__.py",
    ".meltano/utilities/dbt-duckdb/venv": "dbt/cli/main.py",
}


@pytest.mark.parametrize(("venv", "module"), IMPORTED_ON_EVERY_RUN.items())
def test_installed_packages_carry_their_bytecode(venv: str, module: str) -> None:
    """Compiled at install: where PYTHONDONTWRITEBYTECODE is set (our CI machines),
    every process would otherwise compile each module it imports, every time
    (1.5 s of Meltano's 3.4 s of CPU per command)."""
    (site_packages,) = (ROOT / venv).glob("lib/python3.*/site-packages")
    source = site_packages / module
    assert source.is_file(), source
    compiled = list((source.parent / "__pycache__").glob(f"{source.stem}.cpython-*.pyc"))
    assert compiled, (
        f"{source} has no bytecode: `make install` compiles it on a fresh checkout; "
        "an older one needs `UV_COMPILE_BYTECODE=1 .venv/bin/meltano install --clean`"
    )
