"""Imports inside ``helpers/`` flow one way: no module imports, however indirectly, one that imports it.

Every import counts, those inside functions too: an import moved into a function still ties
the two modules together, it only hides the cycle until the function runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

HELPERS = Path(__file__).resolve().parents[1] / "helpers"


def modules() -> dict[str, Path]:
    """Each module of ``helpers`` by its name in the package (``caches``, ``children``, ``children.cache_passes``)."""
    named = {
        ".".join(path.relative_to(HELPERS).with_suffix("").parts)
        .removesuffix("__init__")
        .rstrip("."): path
        for path in HELPERS.rglob("*.py")
    }
    # the package itself imports nothing
    return {name: path for name, path in named.items() if name}


def imported(path: Path) -> set[str]:
    """What the module at ``path`` imports from ``helpers``, anywhere in its source, by name inside it.

    ``from helpers.a import b`` names both ``a`` and ``a.b``: the caller keeps those that are modules.
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "helpers":
            inside = node.module.removeprefix("helpers").removeprefix(".")
            found.update(f"{inside}.{alias.name}".lstrip(".") for alias in node.names)
            found.add(inside)
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.removeprefix("helpers.")
                for alias in node.names
                if alias.name.startswith("helpers.")
            )
    return found


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` as the modules along it (first and last alike), or []."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str]:
        if module in path:
            return path[path.index(module) :] + [module]
        if module in done:
            return []
        for name in sorted(graph.get(module, ())):
            if found := visit(name, path + [module]):
                return found
        done.add(module)
        return []

    return next((found for module in sorted(graph) if (found := visit(module, []))), [])


def test_cycle_finds_an_indirect_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": {"c"}, "d": {"a", "c"}}) == []


def test_helpers_import_without_cycles():
    found = modules()
    graph = {module: (imported(path) & set(found)) - {module} for module, path in found.items()}
    assert not (found := cycle(graph)), "an import cycle in helpers/: " + " -> ".join(found)
