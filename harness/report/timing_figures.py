"""Figures of timed trials, one panel per (batch, seq) shape: the task metric vs median latency
with each runtime's Pareto frontier, and the measured speedup vs kept FLOPs with the ideal
1/ratio line. One line per (method, runtime); the dense point joins every method's line.

Takes a measurements frame (`columns.prepared`, timed rows, a `runtime` label column) and
returns matplotlib Figures; never reads files or saves (`plots` does), never uses pyplot, so
no figure outlives its caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from harness.report.columns import with_dense_in_every_method
from harness.results.keys import DENSE_METHOD

log = logging.getLogger(__name__)

SHAPE = ["batch_size", "seq_len"]


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of (latency, metric) points no other point beats on both (lower, higher),
    ordered by latency; the frontier drawn on the accuracy-vs-latency figure."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


LOWER_IS_BETTER = frozenset({"perplexity"})
"""Metrics where a smaller value is better (a decoder's perplexity); every other metric the
harness computes (accuracy, F1, correlations, EM) is better when larger."""


def metric_label(rows: pd.DataFrame) -> str:
    """The y-axis label: the metric's name, and which way is better when it is lower."""
    names = rows["metric_name"].dropna()
    name = str(names.iloc[0]) if len(names) else "metric"
    return f"{name} (lower is better)" if name in LOWER_IS_BETTER else name


def pareto_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows on the (latency, metric) Pareto frontier, by latency (lower latency and a better
    metric: higher, or lower for LOWER_IS_BETTER metrics)."""
    names = set(rows["metric_name"].dropna())
    sign = -1.0 if names and names <= LOWER_IS_BETTER else 1.0
    metric = [sign * float(v) for v in rows["metric_value"]]
    points = list(zip(rows["latency_median_ms"], metric, strict=True))
    return rows.iloc[pareto_front(points)]


def method_lines(rows: pd.DataFrame, x: str) -> Iterator[tuple[str, pd.DataFrame]]:
    """(`method (runtime)`, its rows sorted by `x`) per line, dense point included in each."""
    lines = with_dense_in_every_method(rows)
    for (method, runtime), line in lines.groupby(["series", "runtime"], sort=True):
        yield f"{method} ({runtime})", line.sort_values(x, kind="stable")


def _accuracy_axes(ax: Any, rows: pd.DataFrame) -> None:
    for label, line in method_lines(rows, "latency_median_ms"):
        ms = line["latency_median_ms"].to_numpy()
        spread = [ms - line["latency_ci95_low_ms"], line["latency_ci95_high_ms"] - ms]
        y = line["metric_value"].to_numpy()
        ax.errorbar(ms, y, xerr=spread, marker="o", capsize=3, label=label)
    for runtime, same in rows.groupby("runtime", sort=True):
        front = pareto_rows(same)
        ax.step(
            front["latency_median_ms"].to_numpy(),
            front["metric_value"].to_numpy(),
            where="post",
            linestyle="--",
            alpha=0.5,
            color="gray",
            label=f"Pareto frontier ({runtime})",
        )
    dense = rows[rows["method"].eq(DENSE_METHOD)]
    if len(dense):
        x, y = dense["latency_median_ms"].to_numpy(), dense["metric_value"].to_numpy()
        ax.scatter(x, y, marker="*", s=220, color="black", zorder=5, label="dense")
    ax.set_xlabel("median latency (ms, 95% CI)")
    ax.set_ylabel(metric_label(rows))


def _speedup_axes(ax: Any, rows: pd.DataFrame) -> None:
    for label, line in method_lines(rows, "achieved_flops_ratio"):
        speedup = line["speedup_vs_dense"]
        # a point without a CI (the dense one) gets a zero-length bar, not a missing one
        spread = [speedup - line["speedup_ci95_low"].fillna(speedup)]
        spread.append(line["speedup_ci95_high"].fillna(speedup) - speedup)
        x = line["achieved_flops_ratio"].to_numpy()
        ax.errorbar(x, speedup.to_numpy(), yerr=spread, marker="o", capsize=3, label=label)
    lowest_ratio = min(float(rows["achieved_flops_ratio"].min()), 1.0)
    kept_ratio = pd.Series([lowest_ratio + (1.0 - lowest_ratio) * i / 50 for i in range(51)])
    ideal = 1.0 / kept_ratio
    ax.plot(kept_ratio, ideal, color="black", linestyle=":", label="ideal 1/ratio")
    ax.set_xlabel("kept FLOPs ratio (achieved)")
    ax.set_ylabel("measured speedup vs dense")


def _grid(count: int, title: str) -> tuple[Figure, list[Any]]:
    """A figure of `count` panels, two per row; the unused panel of an odd count removed."""
    columns = min(count, 2)
    rows = (count + columns - 1) // columns
    fig = Figure(figsize=(6.4 * columns, 4.6 * rows), layout="tight")
    fig.suptitle(title)
    panels = list(fig.subplots(rows, columns, squeeze=False).flat)
    for extra in panels[count:]:
        fig.delaxes(extra)
    return fig, panels[:count]


def _per_shape_figure(
    rows: pd.DataFrame, title: str, draw: Callable[[Any, pd.DataFrame], None]
) -> Figure:
    shapes = rows.groupby(SHAPE, sort=True)
    fig, panels = _grid(shapes.ngroups, title)
    for ax, ((batch, seq), same_shape) in zip(panels, shapes, strict=True):
        draw(ax, same_shape)
        ax.set_title(f"batch {batch}, seq {seq}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    return fig


def accuracy_figure(rows: pd.DataFrame, title: str) -> Figure:
    """Metric vs median latency (95% CI bars) per shape; rows must be timed and scored."""
    return _per_shape_figure(rows, title, _accuracy_axes)


def speedup_figure(rows: pd.DataFrame, title: str) -> Figure:
    """Measured speedup vs achieved kept-FLOPs ratio (95% CI bars) per shape, with the ideal
    1/ratio line; rows must be timed and have a speedup."""
    return _per_shape_figure(rows, title, _speedup_axes)
