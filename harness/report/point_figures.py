"""Figures of prune points (what a pruned model kept and scored, whatever runtime timed it):
the task metric vs kept FLOPs, one line per method with the dense point on each, and the
attention heads and FFN neurons kept per layer.

Takes a points frame (`harness.results.frame.points_frame`) and returns matplotlib Figures;
never reads files or saves (`plots` does), never uses pyplot.
"""

from __future__ import annotations

import logging

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from harness.report.columns import with_dense_in_every_method
from harness.report.table import point_sorted
from harness.report.timing_figures import metric_label
from harness.results.keys import DENSE_METHOD

log = logging.getLogger(__name__)


def _budget_axis(points: pd.DataFrame) -> tuple[str, str]:
    """(column, label) of the x axis: kept parameters for a run budgeted in parameters."""
    if "budget" in points and points["budget"].eq("params").all():
        return "achieved_params_ratio", "kept parameter ratio (achieved, kept/original)"
    return "achieved_flops_ratio", "kept FLOPs ratio (achieved, kept/original)"


def _over_seeds(line: pd.DataFrame, x: str) -> pd.DataFrame:
    """A line's points averaged over sweep seeds per target ratio: mean achieved ratio `x`, mean
    metric and its sample standard deviation (`metric_std`, NaN for one seed)."""
    return line.groupby("target_flops_ratio", sort=False).agg(
        achieved=(x, "mean"),
        metric_value=("metric_value", "mean"),
        metric_std=("metric_value", "std"),
    )


def metric_figure(points: pd.DataFrame, title: str) -> Figure:
    """Task metric vs achieved kept-FLOPs ratio (falling to the right), one line per method;
    the dense point joins every line and is starred. Points must be scored. With several sweep
    seeds, each point is the mean over seeds with a ±1 standard deviation bar."""
    fig = Figure(figsize=(6.4, 4.6), layout="tight")
    ax = fig.subplots()
    column, label = _budget_axis(points)
    for method, line in with_dense_in_every_method(points).groupby("series", sort=True):
        line = _over_seeds(line, column).sort_values("achieved", kind="stable")
        x, y = line["achieved"].to_numpy(), line["metric_value"].to_numpy()
        spread = line["metric_std"].fillna(0.0).to_numpy()
        if spread.any():
            ax.errorbar(x, y, yerr=spread, marker="o", capsize=3, label=f"{method} (mean ± std)")
        else:
            ax.plot(x, y, marker="o", label=method)
    dense = _over_seeds(points[points["method"].eq(DENSE_METHOD)], column)
    if len(dense):
        x, y = dense["achieved"].to_numpy(), dense["metric_value"].to_numpy()
        ax.scatter(x, y, marker="*", s=160, c="k", zorder=5)
    ax.set_xlabel(label)
    ax.set_ylabel(metric_label(points))
    values = points["metric_value"].astype(float)
    if (values > 0).all() and values.max() > 100 * values.min():  # perplexities of a wrecked model
        ax.set_yscale("log")
    ax.set_title(title)
    ax.invert_xaxis()
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def kept_figure(points: pd.DataFrame, title: str) -> Figure:
    """Heads (left) and FFN neurons (right) kept per layer, one line per point labelled
    `<method> <target ratio>`, dense first. Points must have per-layer counts."""
    fig = Figure(figsize=(12.8, 4.6), layout="tight")
    fig.suptitle(title)
    heads_ax, neurons_ax = fig.subplots(1, 2)
    for point in point_sorted(points).itertuples(index=False):
        label = f"{point.method} {point.target_flops_ratio:g}"
        label += f" seed {point.seed}" if getattr(point, "seed", 0) else ""
        layers = range(len(point.heads_per_layer))
        heads_ax.plot(layers, point.heads_per_layer, marker="o", label=label)
        neurons_ax.plot(layers, point.neurons_per_layer, marker="o", label=label)
    for ax, what in ((heads_ax, "attention heads kept"), (neurons_ax, "FFN neurons kept")):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("layer")
        ax.set_ylabel(what)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    return fig
