"""Longest import chain inside a package, counted in modules, from the source's AST alone.

    python tools/import_chain.py [PACKAGE_DIR] [--top-level-only]

Every `import`/`from ... import` of a module inside the package is an edge, lazy imports inside
functions included unless --top-level-only. Cycles are reported and collapsed (a cycle counts as
its number of modules). Nothing is imported or run.
"""

from __future__ import annotations

import argparse
import ast
import sys
from functools import cache
from pathlib import Path


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST, here: str, modules: set[str], top_level_only: bool) -> set[str]:
    nodes = tree.body if top_level_only else ast.walk(tree)  # type: ignore[attr-defined]
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                base = ".".join(here.split(".")[: -node.level] + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in modules else base)
    return {m for m in found if m in modules and m != here}


def graph(root: Path, top_level_only: bool) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    modules = set(files)
    edges = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges[name] = imported(tree, name, modules, top_level_only)
        # a package's __init__ is imported with each of its modules; it is not a hop of its own
    return edges


def longest_chain(edges: dict[str, set[str]]) -> list[str]:
    @cache
    def best(node: str, seen: frozenset[str]) -> tuple[str, ...]:
        tails = [best(n, seen | {n}) for n in sorted(edges[node]) if n not in seen]
        return (node, *max(tails, key=len, default=()))

    return list(max((best(n, frozenset({n})) for n in sorted(edges)), key=len))


def cycles(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted((a, b) for a in edges for b in edges[a] if a < b and a in edges.get(b, set()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("package", nargs="?", default="harness", type=Path)
    parser.add_argument("--top-level-only", action="store_true", help="skip imports in functions")
    args = parser.parse_args(argv)
    edges = graph(args.package.resolve(), args.top_level_only)
    chain = longest_chain(edges)
    sys.stdout.write(f"{len(edges)} modules; longest import chain: {len(chain)} modules\n")
    sys.stdout.write("  " + "\n  -> ".join(chain) + "\n")
    for a, b in cycles(edges):
        sys.stdout.write(f"two-module cycle: {a} <-> {b}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
