"""Import boundaries: kprune never imports harness (or onnx, onnxruntime, matplotlib); harness
uses kprune only through the names in `kprune.__all__`."""

from __future__ import annotations

import ast
from pathlib import Path

import kprune

ROOT = Path(__file__).resolve().parents[1]
KPRUNE_FORBIDDEN = {"harness", "onnx", "onnxruntime", "onnxscript", "matplotlib", "pandas"}


def _imports(package: str) -> list[tuple[Path, str, list[str]]]:
    """(file, imported module, imported names) for every import in the package."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(path, alias.name, []) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module, [alias.name for alias in node.names]))
    return found


def test_kprune_imports_no_harness_or_export_stack():
    bad = [
        f"{path.relative_to(ROOT)}: {module}"
        for path, module, _ in _imports("kprune")
        if module.split(".")[0] in KPRUNE_FORBIDDEN
    ]
    assert bad == []


def test_harness_uses_only_kprune_public_api():
    public = set(kprune.__all__)
    bad = []
    for path, module, names in _imports("harness"):
        if module.startswith("kprune.") or (module == "kprune" and not names):
            bad.append(f"{path.relative_to(ROOT)}: import {module}")
        elif module == "kprune":
            bad += [f"{path.relative_to(ROOT)}: {n}" for n in names if n not in public]
    assert bad == []
