"""Spread over sweep seeds (`BenchmarkConfig.seeds`): per (method, target ratio), the mean,
sample standard deviation, minimum and maximum of the task metric over the seeds that scored it,
with the achieved ratio and prune seconds averaged alike. Unreachable ratios stay visible.

Takes a points frame (`harness.results.frame.points_frame`); formats, never reads or prints.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from harness.report.table import fmt, format_table, point_sorted
from harness.results.keys import DENSE_METHOD
from harness.results.records import is_unreachable

log = logging.getLogger(__name__)

POINT = ["method", "target_flops_ratio"]


def _scored(points: pd.DataFrame) -> pd.DataFrame:
    ok = points["error"].isna() & points["metric_value"].notna()
    return points[ok].assign(metric_value=pd.to_numeric(points["metric_value"][ok]))


def seed_spread(points: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, target ratio): seeds, metric mean/std/min/max, mean achieved ratio
    and prune seconds, and `unreachable` (every seed found the ratio out of reach). Std is the
    sample standard deviation (NaN for a single seed)."""
    unreachable = points["error"].map(lambda e: isinstance(e, str) and is_unreachable(e))
    lost = points[unreachable].groupby(POINT, sort=False).size().rename("unreachable")
    stats = (
        _scored(points)
        .groupby(POINT, sort=False)
        .agg(
            seeds=("seed", "nunique"),
            metric_mean=("metric_value", "mean"),
            metric_std=("metric_value", "std"),
            metric_min=("metric_value", "min"),
            metric_max=("metric_value", "max"),
            achieved_flops_ratio=("achieved_flops_ratio", "mean"),
            prune_seconds=("prune_seconds", "mean"),
        )
    )
    table = stats.join(lost, how="outer").reset_index()
    table["unreachable"] = table["unreachable"].fillna(0).astype(int)
    return point_sorted(table)


def has_several_seeds(points: pd.DataFrame) -> bool:
    return "seed" in points and points["seed"].nunique() > 1


def seed_table(points: pd.DataFrame) -> str:
    """`seed_spread` as a text table: `0.8123 ± 0.0040` (mean ± std) with the range."""
    spread = seed_spread(points)
    name = points["metric_name"].dropna()
    metric = str(name.iloc[0]) if len(name) else "metric"
    headers = ["method", "target", "seeds", f"{metric} mean ± std", "min..max", "kept", "prune s"]
    rows = []
    for row in spread.itertuples(index=False):
        if pd.isna(row.metric_mean):
            cells = ["unreachable" if row.unreachable else "error", "-", "-"]
        else:
            std = "" if pd.isna(row.metric_std) else f" ± {row.metric_std:.4f}"
            span = f"{row.metric_min:.4f}..{row.metric_max:.4f}"
            cells = [f"{row.metric_mean:.4f}{std}", span, fmt(row.achieved_flops_ratio, ".3f")]
        seeds = "-" if pd.isna(row.seeds) else str(int(row.seeds))
        rows.append(
            [
                row.method,
                f"{row.target_flops_ratio:g}",
                seeds,
                *cells,
                fmt(row.prune_seconds, ".1f"),
            ]
        )
    return format_table(headers, rows)


def _cell(row: Any) -> str:
    if pd.isna(row.metric_mean):
        return "unreachable" if row.unreachable else "error"
    if pd.isna(row.metric_std):
        return f"{row.metric_mean:.4f}"
    return f"{row.metric_mean:.4f} ± {row.metric_std:.4f}"


def accuracy_table(points: pd.DataFrame) -> pd.DataFrame:
    """The metric per kept-FLOPs target (rows; the dense model first, in every method's column,
    since every method starts from it) and method (columns, config order): `mean ± std` over the
    seeds (one seed: the value), `unreachable` where the method cannot reach the ratio."""
    spread = seed_spread(points)
    spread = spread.assign(cell=[_cell(row) for row in spread.itertuples(index=False)])
    dense = spread[spread["method"].eq(DENSE_METHOD)]
    pruned = spread[spread["method"].ne(DENSE_METHOD)]
    methods = list(dict.fromkeys(points.loc[points["method"].ne(DENSE_METHOD), "method"]))
    table = pruned.pivot(index="target_flops_ratio", columns="method", values="cell")
    table = table.reindex(columns=methods).sort_index(ascending=False)
    table.index = [f"{ratio:g}" for ratio in table.index]
    if len(dense):
        first = pd.DataFrame([[dense["cell"].iloc[0]] * len(methods)], columns=methods)
        table = pd.concat([first.set_axis(["1 (dense)"]), table])
    return table.rename_axis("kept FLOPs").reset_index().fillna("-")
