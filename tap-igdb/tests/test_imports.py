"""The tap's modules import each other in one direction only, even for type hints."""

from __future__ import annotations

import ast
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import tap_igdb

PACKAGE = Path(tap_igdb.__file__).parent
README = PACKAGE.parent / "README.md"


def imported_modules(path: Path) -> set[str]:
    """Every tap_igdb module `path` imports, at run time or under TYPE_CHECKING."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from tap_igdb import reader` imports the module tap_igdb.reader
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    modules = {f"tap_igdb.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    return {
        f"tap_igdb.{path.stem}": imported_modules(path)
        for path in sorted(PACKAGE.glob("*.py"))
        if path.stem != "__init__"
    }


def test_the_graph_sees_type_only_imports() -> None:
    graph = import_graph()
    assert "tap_igdb.client" in graph["tap_igdb.streams"]
    assert "tap_igdb.limiter" in graph["tap_igdb.reader"]  # under TYPE_CHECKING


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = import_graph()
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as cycle:
        # Each module in the cycle is imported by the one after it.
        chain = " imports ".join(reversed(cycle.args[1]))
        raise AssertionError(f"import cycle: {chain}") from None
    assert not [name for name, imports in graph.items() if "tap_igdb.tap" in imports]


def readme_layers() -> list[set[str]]:
    """The modules on each line of the README's picture, top line first."""
    section = README.read_text().split("## Modules", 1)[1]
    picture = section.split("```", 2)[1]
    return [
        {f"tap_igdb.{name}" for name in re.findall(r"(\w+)\.py", line)}
        for line in picture.splitlines()
        if line.strip()
    ]


def test_the_readme_pictures_every_module_above_what_it_imports() -> None:
    graph = import_graph()
    layers = readme_layers()
    assert sorted(name for layer in layers for name in layer) == sorted(graph)
    for depth, layer in enumerate(layers):
        below = set().union(*layers[depth + 1 :])
        for name in sorted(layer):
            assert graph[name] <= below, f"{name} imports {sorted(graph[name] - below)}"
