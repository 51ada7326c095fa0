"""The figures of a study report, as matplotlib Figures: measured speedup vs kept FLOPs at the
timed seq with one line per setup and the ideal dashed; accuracy vs latency with each setup's
Pareto frontier, one panel per setup; a batch × seq heatmap of speedup per setup and runtime.

Takes a `Study`; never reads files or saves, never uses pyplot.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from harness.report.columns import timed
from harness.report.study import Study
from harness.report.timing_figures import metric_label, pareto_rows
from harness.results.keys import DENSE_METHOD

log = logging.getLogger(__name__)

PANEL_IN = (5.6, 4.2)


def _grid(count: int, title: str, columns: int = 3) -> tuple[Figure, list[Any]]:
    columns = max(1, min(count, columns))
    rows = (count + columns - 1) // columns
    fig = Figure(figsize=(PANEL_IN[0] * columns, PANEL_IN[1] * rows), layout="constrained")
    fig.suptitle(title)
    panels = list(fig.subplots(rows, columns, squeeze=False).flat)
    for extra in panels[count:]:
        fig.delaxes(extra)
    return fig, panels[:count]


def _speedup_rows(study: Study) -> pd.DataFrame:
    rows = study.rows[timed(study.rows) & study.rows["speedup_vs_dense"].notna()]
    return rows[rows["kept_ratio_at_seq"].notna()]


def speedup_figure(study: Study) -> Figure | None:
    """Measured speedup (95% CI) vs kept FLOPs at the timed seq, a panel per (method, batch,
    seq), a line per (setup, runtime), the FLOPs ideal 1/ratio dashed."""
    rows = _speedup_rows(study)
    pruned = rows[rows["method"].ne(DENSE_METHOD)]
    if pruned.empty:
        return None
    panels = pruned.groupby(["method", "batch_size", "seq_len"], sort=True)
    fig, axes = _grid(panels.ngroups, "measured speedup vs kept FLOPs at the timed seq")
    dense = rows[rows["method"].eq(DENSE_METHOD)]
    for ax, ((method, batch, seq), same) in zip(axes, panels, strict=True):
        shape = dense[dense["batch_size"].eq(batch) & dense["seq_len"].eq(seq)]
        for (setup, runtime), line in pd.concat([same, shape]).groupby(["setup", "runtime"]):
            line = line.sort_values("kept_ratio_at_seq")
            y = line["speedup_vs_dense"]
            spread = [
                y - line["speedup_ci95_low"].fillna(y),
                line["speedup_ci95_high"].fillna(y) - y,
            ]
            ax.errorbar(
                line["kept_ratio_at_seq"],
                y,
                yerr=spread,
                marker="o",
                capsize=3,
                label=f"{setup} {runtime}",
            )
        x = np.linspace(min(float(same["kept_ratio_at_seq"].min()), 1.0), 1.0, 50)
        ax.plot(x, 1 / x, "k--", label="ideal 1/ratio")
        ax.set(
            title=f"{method}, batch {batch}, seq {seq}", xlabel="kept FLOPs ratio at the timed seq"
        )
        ax.set_ylabel("speedup vs the same setup's dense")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return fig


def _common_shape(rows: pd.DataFrame) -> tuple[int, int]:
    """The (batch, seq) timed by the most setups (then the smallest batch, largest seq)."""
    counts = rows.groupby(["batch_size", "seq_len"])["setup"].nunique().reset_index()
    counts = counts.sort_values(["setup", "batch_size", "seq_len"], ascending=[False, True, False])
    first = counts.iloc[0]
    return int(first["batch_size"]), int(first["seq_len"])


def pareto_figure(study: Study) -> Figure | None:
    """Task metric vs median latency per setup (one panel each; absolute ms, which compare only
    within class A), a line per runtime with its Pareto frontier stepped, at one common shape."""
    rows = study.rows[timed(study.rows) & study.rows["metric_value"].notna()]
    if rows.empty:
        return None
    batch, seq = _common_shape(rows)
    rows = rows[rows["batch_size"].eq(batch) & rows["seq_len"].eq(seq)]
    setups = [s.label for s in study.setups if s.label in set(rows["setup"])]
    fig, axes = _grid(len(setups), f"accuracy vs latency per setup (batch {batch}, seq {seq})")
    for ax, setup in zip(axes, setups, strict=True):
        for index, (runtime, same) in enumerate(rows[rows["setup"].eq(setup)].groupby("runtime")):
            color = f"C{index}"
            same = same.sort_values("latency_median_ms")
            x, y = same["latency_median_ms"], same["metric_value"]
            ax.plot(x, y, "o", color=color, alpha=0.5, label=runtime)
            front = pareto_rows(same)
            x, y = front["latency_median_ms"], front["metric_value"]
            ax.step(x, y, where="post", color=color, label=f"{runtime} Pareto frontier")
            dense = same[same["method"].eq(DENSE_METHOD)]
            x, y = dense["latency_median_ms"], dense["metric_value"]
            ax.plot(x, y, "*", color=color, markersize=14, markeredgecolor="k")
        ax.set(title=f"{setup} (dense starred)", xlabel="median latency, ms (absolute)")
        ax.set_ylabel(metric_label(rows))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return fig


def _heatmap_ratio(rows: pd.DataFrame) -> tuple[str, float] | None:
    """(method, target ratio) drawn: the lowest ratio of the first method every setup timed."""
    pruned = rows[rows["method"].ne(DENSE_METHOD)]
    if pruned.empty:
        return None
    method = sorted(pruned["method"].unique())[0]
    same = pruned[pruned["method"].eq(method)]
    setups = same["setup"].nunique()
    shared = same.groupby("target_flops_ratio")["setup"].nunique()
    ratios = shared[shared.eq(setups)].index if shared.eq(setups).any() else shared.index
    return method, float(min(ratios))


def heatmap_figure(study: Study) -> Figure | None:
    """Speedup over batch (rows) × seq (columns) for one (method, ratio), a panel per setup and
    runtime: where pruning pays off and where fixed costs eat it."""
    rows = _speedup_rows(study)
    chosen = _heatmap_ratio(rows)
    if chosen is None:
        return None
    method, ratio = chosen
    rows = rows[rows["method"].eq(method) & rows["target_flops_ratio"].eq(ratio)]
    panels = rows.groupby(["setup", "runtime"], sort=False)
    # one colour scale for every panel, so equal colours mean equal speedups
    low, high = float(rows["speedup_vs_dense"].min()), float(rows["speedup_vs_dense"].max())
    fig, axes = _grid(
        panels.ngroups, f"speedup of {method} at kept-FLOPs target {ratio:g}, batch × seq"
    )
    for ax, ((setup, runtime), same) in zip(axes, panels, strict=True):
        grid = same.pivot_table(index="batch_size", columns="seq_len", values="speedup_vs_dense")
        values = grid.to_numpy(dtype=float)
        image = ax.imshow(values, cmap="viridis", aspect="auto", vmin=low, vmax=high)
        for (i, j), value in np.ndenumerate(values):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.2f}x", ha="center", va="center", color="w", weight="bold")
        ax.set_xticks(range(grid.shape[1]), [str(c) for c in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [str(i) for i in grid.index])
        ax.set(title=f"{setup} {runtime}", xlabel="seq", ylabel="batch")
        fig.colorbar(image, ax=ax, shrink=0.8)
    return fig
