"""`kprune-bench accuracy`: the metric per kept ratio (rows, dense first) and method (columns),
mean ± std over seeds, unreachable ratios named; a missing file exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.report.seeds import accuracy_table
from harness.results.frame import points_frame
from harness.results.records import UNREACHABLE, BenchmarkRun, PrunePoint, save_run


def _point(method: str, ratio: float, seed: int, metric: float | None) -> PrunePoint:
    error = None if metric is not None else f"{UNREACHABLE}: keeps every head"
    return PrunePoint(
        method=method,
        target_flops_ratio=ratio,
        achieved_flops_ratio=ratio if metric is not None else 0.0,
        params=1,
        heads_per_layer=[],
        neurons_per_layer=[],
        seed=seed,
        metric_name="accuracy",
        metric_value=metric,
        error=error,
    )


def _run() -> BenchmarkRun:
    points = [_point("dense", 1.0, s, 0.85 + 0.01 * s) for s in (0, 1)]
    points += [_point("kprune", 0.5, s, m) for s, m in ((0, 0.80), (1, 0.82))]
    points += [_point("kcm", 0.5, s, 0.70) for s in (0, 1)]
    points += [_point("kcm", 0.2, s, None) for s in (0, 1)]
    points += [_point("kprune", 0.2, s, 0.60) for s in (0, 1)]
    return BenchmarkRun(config={}, environment={}, points=points)


def test_rows_are_ratios_columns_methods_cells_mean_and_spread() -> None:
    table = accuracy_table(points_frame([(None, _run())]))
    assert list(table.columns) == ["kept FLOPs", "kprune", "kcm"]
    assert list(table["kept FLOPs"]) == ["1 (dense)", "0.5", "0.2"]
    rows = table.set_index("kept FLOPs")
    assert rows.loc["1 (dense)", "kcm"] == "0.8550 ± 0.0071"
    assert rows.loc["0.5", "kprune"] == "0.8100 ± 0.0141"
    assert rows.loc["0.2", "kcm"] == "unreachable"
    assert rows.loc["0.2", "kprune"] == "0.6000 ± 0.0000"


def test_the_command_prints_markdown_and_refuses_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = save_run(_run(), tmp_path / "0001_abc_x.json")
    assert main(["accuracy", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| kept FLOPs | kprune | kcm |" in out and "unreachable" in out
    assert main(["accuracy", str(tmp_path / "missing.json")]) == 2
