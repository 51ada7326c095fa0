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


READERS = ("harness/report", "harness/results")
"""What reads stored results: never models, runtimes, exports or torch."""
READER_FORBIDDEN = (
    "harness.models",
    "harness.runtimes",
    "harness.export",
    "harness.sweep",
    "torch",
)


def _top_level_imports(path: Path) -> list[str]:
    modules = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
    return modules


def _forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in READER_FORBIDDEN)


def test_report_and_results_import_no_models_runtimes_export_or_torch():
    bad = [
        f"{path.relative_to(ROOT)}: {module}"
        for folder in READERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        for module in _top_level_imports(path)
        if _forbidden(module)
    ]
    assert bad == []
    # report/ reads results only: it does not even reach into the sweep or the config loader
    report = [m for p in (ROOT / "harness/report").rglob("*.py") for m in _top_level_imports(p)]
    allowed = ("harness.results", "harness.report", "harness.errors")
    assert [m for m in report if m.startswith("harness.") and not m.startswith(allowed)] == []


def test_importing_every_reader_loads_no_torch_or_model_code():
    # What actually loads (transitively, lazy imports left lazy): a report never pays for torch.
    import subprocess
    import sys

    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for folder in READERS
        for p in sorted((ROOT / folder).glob("*.py"))
        if p.name != "__init__.py"
    ]
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        f"bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + '.') "
        f"for f in {READER_FORBIDDEN!r}))\nprint(bad)\nsys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_only_sweep_run_imports_the_other_sweep_stages():
    stages = {
        "harness.sweep.plan",
        "harness.sweep.stages",
        "harness.sweep.timing",
        "harness.sweep.rows",
    }
    bad = []
    for path in sorted((ROOT / "harness/sweep").glob("*.py")):
        # steps.py is run.py's table of stage functions (encoder or decoder): wiring, not a stage
        if path.name in ("run.py", "steps.py", "__init__.py"):
            continue
        here = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        # shards.py splits the plan (both pure): it reads the plan and nothing else; a
        # decoder's rows are the encoder rows plus decode fields (lm_rows builds on rows)
        extra = {"shards.py": {"harness.sweep.plan"}, "lm_rows.py": {"harness.sweep.rows"}}
        allowed = {here} | extra.get(path.name, set())
        bad += [f"{here} -> {m}" for m in _top_level_imports(path) if m in stages - allowed]
    # `from harness.sweep import rows, stages` style imports are only in run.py too
    assert bad == []
