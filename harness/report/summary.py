"""The end-of-sweep summary table: per point and shape, the metric, latency and speedup per
runtime, and the ideal speedup.

Built on a measurements DataFrame (`harness.results.frame.measurements_frame`): one group-by
for the point's columns, one pivot for the runtime columns. Formats text only; never measures,
never prints.
"""

from __future__ import annotations

import logging

import pandas as pd

from harness.report.columns import prepared, timed
from harness.report.table import (
    MISSING,
    fmt,
    format_table,
    point_sorted,
    runtime_column,
    runtime_labels,
)
from harness.results.records import is_unreachable

log = logging.getLogger(__name__)

POINT_SHAPE = ["method", "target_flops_ratio", "seed", "batch_size", "seq_len"]
"""A summary row: one point (of one sweep seed) timed at one (batch, seq) shape, across
runtimes; the seed column is shown only when the run has several seeds."""


def _latency_cells(frame: pd.DataFrame) -> pd.Series:
    """Median ms per row; `error` for rows that failed, `unreachable` for a ratio the method
    cannot reach (both shown, never hidden)."""
    cells = frame["latency_median_ms"].map(lambda ms: fmt(ms, ".2f")).where(timed(frame), "error")
    unreachable = frame["error"].map(lambda e: isinstance(e, str) and is_unreachable(e))
    return cells.where(~unreachable, "unreachable")


def _speedup_cells(frame: pd.DataFrame) -> pd.Series:
    """`3.33x [3.00,3.67]`: speedup vs dense with its 95% CI when both ends are known."""
    speedup, low, high = (
        frame[c] for c in ("speedup_vs_dense", "speedup_ci95_low", "speedup_ci95_high")
    )
    ci = " [" + low.map("{:.2f}".format) + "," + high.map("{:.2f}".format) + "]"
    text = speedup.map("{:.2f}x".format) + ci.where(low.notna() & high.notna(), "")
    return text.where(speedup.notna(), MISSING)


def _point_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Per row of the table: achieved ratio, metric and ideal speedup (first known value
    among its runtimes; all runtimes of a point share them)."""
    if "achieved_params_ratio" not in frame:  # a frame of rows older than schema v5
        frame = frame.assign(achieved_params_ratio=None)
    points = frame.groupby(POINT_SHAPE, sort=False).agg(
        flops=("achieved_flops_ratio", "first"),
        params=("achieved_params_ratio", "first"),
        metric=("metric_value", "first"),
        ideal=("ideal_speedup", "first"),
    )
    return pd.DataFrame(
        {
            "flops": points["flops"].map(lambda v: fmt(v, ".3f")),
            "params": points["params"].map(lambda v: fmt(v, ".3f")),
            "metric": points["metric"].map(lambda v: fmt(v, ".4f")),
            "ideal": points["ideal"].map(lambda v: MISSING if pd.isna(v) else f"{v:.2f}x"),
        }
    )


def _runtime_columns(frame: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Per row of the table: `<label> ms`, `<label> speedup` for each runtime, in label order."""
    cells = frame.assign(ms=_latency_cells(frame), speedup=_speedup_cells(frame))
    wide = cells.groupby([*POINT_SHAPE, "runtime"])[["ms", "speedup"]].last().unstack("runtime")
    ordered = [(value, label) for label in labels for value in ("ms", "speedup")]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(ordered)).fillna(MISSING)
    wide.columns = [f"{label} {value}" for value, label in ordered]
    return wide


def summary_table(frame: pd.DataFrame) -> str:
    """One row per (method, ratio, batch, seq) of a measurements frame; latency (median ms)
    and speedup per runtime. An empty frame gives `(no measurements)`."""
    if frame.empty:
        return "(no measurements)"
    rows = prepared(frame).assign(runtime=runtime_column)
    if "seed" not in rows:  # rows of a frame built before seeds existed
        rows = rows.assign(seed=0)
    per_runtime = _runtime_columns(rows, list(runtime_labels(rows).values()))
    table = point_sorted(
        _point_columns(rows).join(per_runtime).reset_index(), then=["seed", "batch_size", "seq_len"]
    )
    table["ratio"] = table["target_flops_ratio"].map("{:.2f}".format)
    names = sorted(set(rows["metric_name"].dropna()))
    headers = ["method", "ratio", "flops", "/".join(names) or "metric", "batch", "seq"]
    columns = ["method", "ratio", "flops", "metric", "batch_size", "seq_len"]
    if table["seed"].nunique() > 1:
        headers.insert(2, "seed")
        columns.insert(2, "seed")
    if "budget" in rows and rows["budget"].eq("params").any():  # the budget is the params ratio
        at = columns.index("flops") + 1
        headers.insert(at, "params")
        columns.insert(at, "params")
    body = table[[*columns, *per_runtime.columns, "ideal"]].astype(str)
    return format_table([*headers, *per_runtime.columns, "ideal"], body.values.tolist())
