"""Tables of a study's prune points: accuracy per method × ratio with setups as columns (a
runtime that scores differently from the PyTorch float32 reference, ORT or fp16, is flagged),
and each run's pruned structures with the widths that break 8-element alignment.

Formats a `Study` into text cells only; never reads files, never renders.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from harness.report.study import Study
from harness.report.table import MISSING, fmt, point_sorted

log = logging.getLogger(__name__)

ALIGNMENT = 8
"""fp16 tensor cores want matrix widths in multiples of 8 elements."""
FLAG = "⚑"
"""Marks a runtime's metric beyond the run's `task.onnx_metric_tolerance` from the reference."""
DEFAULT_TOLERANCE = 0.005


def _tolerance(study: Study, setup: str) -> float:
    run = next(s.run for s in study.setups if s.label == setup)
    value = (run.config.get("task") or {}).get("onnx_metric_tolerance")
    return float(value) if value is not None else DEFAULT_TOLERANCE


def _accuracy_cell(
    rows: pd.DataFrame, reference: float | None, source: str | None, tolerance: float
) -> str:
    """The reference metric (labelled when a replayed run took it from another run), then
    each runtime whose own metric differs from it."""
    if reference is None or pd.isna(reference):
        return MISSING
    replayed = isinstance(source, str) and source.startswith("replayed")
    parts = [f"{reference:.4f}" + (" (replayed)" if replayed else "")]
    by_runtime = rows.dropna(subset=["metric_value"]).drop_duplicates("runtime")
    for row in by_runtime.itertuples(index=False):
        delta = float(row.metric_value) - float(reference)
        if abs(delta) > 1e-12:
            flag = f" {FLAG}" if abs(delta) > tolerance else ""
            parts.append(f"{row.runtime} {delta:+.4f}{flag}")
    return "; ".join(parts)


def accuracy_table(study: Study) -> pd.DataFrame:
    """Rows: method × ratio; a column per setup: the point's reference metric ("(replayed)":
    copied from the run a replayed structure came from), then every runtime (ORT, fp16,
    another device) whose metric differs, `⚑` beyond the tolerance."""
    points = study.points[study.points["error"].isna()]
    reference = {
        (p.run_label, p.point_key): (p.metric_value, getattr(p, "metric_source", None))
        for p in points.itertuples()
    }
    cells: dict[tuple[str, float], dict[str, str]] = {}
    for (setup, method, ratio, key), rows in study.rows.groupby(
        ["setup", "method", "target_flops_ratio", "point_key"], sort=False
    ):
        run_label = rows["run_label"].iloc[0]
        value, source = reference.get((run_label, key), (None, None))
        cell = _accuracy_cell(rows, value, source, _tolerance(study, setup))
        cells.setdefault((method, ratio), {})[setup] = cell
    table = pd.DataFrame(
        [{"method": m, "target_flops_ratio": r, **by_setup} for (m, r), by_setup in cells.items()]
    )
    if table.empty:
        return table
    setups = [s.label for s in study.setups if s.label in table]
    table = point_sorted(table)[["method", "target_flops_ratio", *setups]].fillna(MISSING)
    table["target_flops_ratio"] = table["target_flops_ratio"].map("{:.2f}".format)
    names = sorted(set(study.rows["metric_name"].dropna()))
    header = "/".join(names) or "metric"
    return table.rename(
        columns={"target_flops_ratio": "ratio", **{s: f"{s} {header}" for s in setups}}
    )


def misaligned(widths: Sequence[int], multiple: int = ALIGNMENT) -> list[tuple[int, int]]:
    """(layer, width) of the non-empty widths that are not multiples of `multiple`."""
    return [(layer, w) for layer, w in enumerate(widths) if w and w % multiple]


def _alignment_cell(widths: Sequence[int]) -> str:
    off = misaligned(widths)
    if not off:
        return "all ×8"
    listed = ", ".join(f"L{layer}:{w}" for layer, w in off)
    return f"{FLAG} {len(off)}/{len(widths)} not ×8 ({listed})"


def structure_table(study: Study) -> pd.DataFrame:
    """Per run and point: achieved kept FLOPs (at the FLOPs model's s), heads and neurons per
    layer, and the FFN widths and attention widths (heads × head size) not multiples of 8."""
    rows = []
    points = point_sorted(study.points[study.points["error"].isna()], then=["run_label"])
    for p in points.itertuples(index=False):
        dims = study.dims.get(p.run_label)
        attention = [h * dims.head_size for h in p.heads_per_layer] if dims else None
        rows.append(
            {
                "run": p.run_label,
                "method": p.method,
                "ratio": f"{p.target_flops_ratio:.2f}",
                "kept FLOPs (model s)": fmt(p.achieved_flops_ratio, ".3f"),
                "heads per layer": ",".join(map(str, p.heads_per_layer)),
                "neurons per layer": ",".join(map(str, p.neurons_per_layer)),
                "FFN widths": _alignment_cell(p.neurons_per_layer),
                "attention widths": _alignment_cell(attention) if attention else "(d_h unknown)",
                "round_to": fmt((p.method_config or {}).get("round_to"), "d"),
            }
        )
    return pd.DataFrame(rows)
