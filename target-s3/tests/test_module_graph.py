"""Who may import whom inside target_s3 (every import counts, type-only ones too).

target.py wires the SDK target and is the entry point; sinks.py writes and
never imports the target, and no module imports one that imports it back.
"""

from __future__ import annotations

import ast
from pathlib import Path

import target_s3

PACKAGE = Path(target_s3.__file__).parent
ENTRY_POINT = "target_s3.target"


def module_name(path: Path) -> str:
    return "target_s3" if path.stem == "__init__" else f"target_s3.{path.stem}"


MODULES = {module_name(path): path for path in sorted(PACKAGE.glob("*.py"))}


def imported(name: str) -> set[str]:
    """The target_s3 modules `name` imports anywhere: top level, functions, TYPE_CHECKING."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package (a module's parent is target_s3)
                base = ".".join(["target_s3", *filter(None, [node.module])])
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imported(name) for name in MODULES}


def test_no_module_imports_the_target_but_the_entry_point_itself() -> None:
    importers = sorted(name for name, targets in GRAPH.items() if ENTRY_POINT in targets)
    assert importers == []


def test_the_import_graph_has_no_cycle() -> None:
    done: set[str] = set()

    def cycle_from(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for target in sorted(GRAPH[name]):
            if found := cycle_from(target, [*path, name]):
                return found
        done.add(name)
        return None

    cycles = [found for name in sorted(GRAPH) if (found := cycle_from(name, []))]
    assert cycles == [], " -> ".join(cycles[0])


def test_the_graph_sees_the_imports_it_checks() -> None:
    """Guards the parser: the wiring the target does must show up."""
    assert {"target_s3.sinks", "target_s3.lake", "target_s3.settings"} <= GRAPH[ENTRY_POINT]
    assert "target_s3.lake" in GRAPH["target_s3.sinks"]
