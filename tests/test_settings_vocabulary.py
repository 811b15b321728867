"""One boolean vocabulary for the whole project.

Each plugin parses its own settings (no code is shared between plugins), so each
keeps its own copy of the words it reads as true and false: they must be the same,
or `on` would be true for the tap and an error for dbt.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from tap_igdb.settings import BOOLEAN_WORDS as TAP_WORDS
from target_s3.settings import BOOLEAN_WORDS as TARGET_WORDS

ROOT = Path(__file__).resolve().parents[1]
PROJECT_WORDS = {"true": True, "1": True, "yes": True, "on": True} | {
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}


def dbt_plugin() -> ModuleType:
    """transform/duckdb_plugins/igdb_lake.py, loaded as dbt-duckdb loads it (by path)."""
    path = ROOT / "transform" / "duckdb_plugins" / "igdb_lake.py"
    spec = importlib.util.spec_from_file_location("igdb_lake", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_plugin_reads_the_same_words_as_true_and_false() -> None:
    assert TAP_WORDS == PROJECT_WORDS
    assert TARGET_WORDS == PROJECT_WORDS
    assert dbt_plugin().BOOLEAN_WORDS == PROJECT_WORDS
