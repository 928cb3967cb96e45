"""No import cycle in bot/: every module's imports of bot modules, at module level or inside a
function, form a one-way graph. A cycle hidden in a function-level import breaks at run time,
in whichever order modules happen to load first."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

BOT = Path(__file__).resolve().parents[2] / "bot"


def _module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found.update(n for n in names if n in known)
    return found


def _graph() -> nx.DiGraph:
    paths = [p for p in BOT.rglob("*.py") if "migrations" not in p.parts]
    known = {_module_name(p) for p in paths}
    graph = nx.DiGraph()
    for path in paths:
        name = _module_name(path)
        graph.add_node(name)
        for target in _imports(path, known):
            # A package's __init__ re-exporting its own modules is not a cycle of meaning.
            if target != name and not target.startswith(name + "."):
                graph.add_edge(name, target)
    return graph


def test_bot_has_no_import_cycle() -> None:
    cycles = list(nx.simple_cycles(_graph()))
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles[:10])
