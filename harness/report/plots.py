"""Figures from stored results only (never measures): accuracy vs latency with the Pareto
frontier, measured speedup vs kept FLOPs with the ideal 1/ratio line, the task metric vs kept
FLOPs (one line per method), heads/neurons kept per layer.

matplotlib is imported inside the functions with the Agg backend; PNG and SVG per figure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from harness.report.summary import runtime_identity, runtime_labels
from harness.results.keys import DENSE_METHOD
from harness.results.records import BenchmarkRun, read_run

log = logging.getLogger(__name__)

FORMATS = ("png", "svg")


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


def _ok(m: Any) -> bool:
    return m.error is None and m.latency is not None


def _shapes(measurements: Sequence[Any]) -> list[tuple[int, int]]:
    return sorted({(m.batch_size, m.seq_len) for m in measurements})


def _grid(plt: Any, count: int, title: str) -> tuple[Any, list[Any]]:
    columns = min(count, 2)
    rows = (count + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(6.4 * columns, 4.6 * rows), squeeze=False)
    fig.suptitle(title)
    flat = list(axes.flat)
    for extra in flat[count:]:
        extra.set_visible(False)
    return fig, flat[:count]


def _series(measurements: Sequence[Any]) -> dict[tuple[str, str], list[Any]]:
    """(method, runtime label) -> rows; the dense point joins every method's series."""
    labels = runtime_labels(measurements)
    methods = sorted({m.method for m in measurements if m.method != DENSE_METHOD}) or [DENSE_METHOD]
    series: dict[tuple[str, str], list[Any]] = {}
    for m in measurements:
        owners = methods if m.method == DENSE_METHOD else [m.method]
        for method in owners:
            series.setdefault((method, labels[runtime_identity(m)]), []).append(m)
    return series


def _accuracy_axes(ax: Any, rows: Sequence[Any]) -> None:
    labels = runtime_labels(rows)
    for (method, label), group in sorted(_series(rows).items()):
        group = sorted(group, key=lambda m: m.latency.median_ms)
        x = [m.latency.median_ms for m in group]
        y = [m.metric_value for m in group]
        low = [m.latency.median_ms - m.latency.ci95_low_ms for m in group]
        high = [m.latency.ci95_high_ms - m.latency.median_ms for m in group]
        ax.errorbar(x, y, xerr=[low, high], marker="o", capsize=3, label=f"{method} ({label})")
    for label in sorted(set(labels.values())):
        same = [m for m in rows if labels[runtime_identity(m)] == label]
        points = [(m.latency.median_ms, m.metric_value) for m in same]
        front = [points[i] for i in pareto_front(points)]
        ax.step(
            *zip(*front, strict=True),
            where="post",
            linestyle="--",
            alpha=0.5,
            color="gray",
            label=f"Pareto frontier ({label})",
        )
    dense = [m for m in rows if m.method == DENSE_METHOD]
    if dense:
        ax.scatter(
            [m.latency.median_ms for m in dense],
            [m.metric_value for m in dense],
            marker="*",
            s=220,
            color="black",
            zorder=5,
            label="dense",
        )
    ax.set_xlabel("median latency (ms, 95% CI)")
    ax.set_ylabel(rows[0].metric_name or "metric")


def _speedup_axes(ax: Any, rows: Sequence[Any]) -> None:
    for (method, label), group in sorted(_series(rows).items()):
        group = sorted(group, key=lambda m: m.achieved_flops_ratio)
        x = [m.achieved_flops_ratio for m in group]
        y = [m.speedup_vs_dense for m in group]
        low = [m.speedup_vs_dense - (m.speedup_ci95_low or m.speedup_vs_dense) for m in group]
        high = [(m.speedup_ci95_high or m.speedup_vs_dense) - m.speedup_vs_dense for m in group]
        ax.errorbar(x, y, yerr=[low, high], marker="o", capsize=3, label=f"{method} ({label})")
    ratios = sorted({m.achieved_flops_ratio for m in rows} | {1.0})
    lowest = min(ratios)
    grid = [lowest + (1.0 - lowest) * i / 50 for i in range(51)]
    ax.plot(grid, [1.0 / r for r in grid], color="black", linestyle=":", label="ideal 1/ratio")
    ax.set_xlabel("kept FLOPs ratio (achieved)")
    ax.set_ylabel("measured speedup vs dense")


def _per_shape_figure(
    plt: Any, rows: Sequence[Any], title: str, draw: Callable[[Any, Sequence[Any]], None]
) -> Any:
    shapes = _shapes(rows)
    fig, axes = _grid(plt, len(shapes), title)
    for ax, (batch, seq) in zip(axes, shapes, strict=True):
        draw(ax, [m for m in rows if (m.batch_size, m.seq_len) == (batch, seq)])
        ax.set_title(f"batch {batch}, seq {seq}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    return fig


def _kept_figure(plt: Any, points: Sequence[Any], title: str) -> Any:
    from matplotlib.ticker import MaxNLocator

    fig, (heads_ax, neurons_ax) = plt.subplots(1, 2, figsize=(12.8, 4.6))
    fig.suptitle(title)
    ordered = sorted(
        points, key=lambda p: (p.method != DENSE_METHOD, p.method, -p.target_flops_ratio)
    )
    for point in ordered:
        label = f"{point.method} {point.target_flops_ratio:g}"
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


def _metric_figure(plt: Any, points: Sequence[Any], title: str) -> Any:
    """Task metric vs kept FLOPs ratio, one line per method; the dense point joins every line."""
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    dense = [p for p in points if p.method == DENSE_METHOD]
    methods = sorted({p.method for p in points if p.method != DENSE_METHOD})
    for method in methods:
        rows = sorted(
            [p for p in points if p.method == method] + dense, key=lambda p: p.achieved_flops_ratio
        )
        xs = [p.achieved_flops_ratio for p in rows]
        ax.plot(xs, [p.metric_value for p in rows], marker="o", label=method)
    for p in dense:
        ax.scatter([p.achieved_flops_ratio], [p.metric_value], marker="*", s=160, c="k", zorder=5)
    ax.set_xlabel("kept FLOPs ratio (achieved, kept/original)")
    ax.set_ylabel(points[0].metric_name or "metric")
    ax.set_title(title)
    ax.invert_xaxis()
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def _save(plt: Any, fig: Any, out_dir: Path, stem: str) -> list[Path]:
    paths = [out_dir / f"{stem}.{fmt}" for fmt in FORMATS]
    fig.tight_layout()
    for path in paths:
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return paths


def plot_run(run_or_path: BenchmarkRun | Path | str, out_dir: Path | str) -> list[Path]:
    """Write the run's figures into out_dir; returns the written paths (figures without data
    are skipped with a log line, e.g. accuracy for a latency-only random-weight sweep)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = run_or_path if isinstance(run_or_path, BenchmarkRun) else read_run(run_or_path)
    name = str(run.config.get("name") or run.run_id)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timed = [m for m in run.measurements if _ok(m)]
    scored = [m for m in timed if m.metric_value is not None]
    compared = [m for m in timed if m.speedup_vs_dense is not None]
    kept = [p for p in run.points if p.error is None and p.heads_per_layer]
    figures: list[tuple[str, Callable[[], Any]]] = []
    if scored:
        metric = scored[0].metric_name or "metric"
        draw = partial(
            _per_shape_figure, plt, scored, f"{name}: {metric} vs latency", _accuracy_axes
        )
        figures.append(("accuracy_vs_latency", draw))
    if compared:
        title = f"{name}: measured speedup vs kept FLOPs"
        figures.append(
            ("speedup_vs_flops", partial(_per_shape_figure, plt, compared, title, _speedup_axes))
        )
    metric_points = [p for p in run.points if p.error is None and p.metric_value is not None]
    if metric_points:
        title = f"{name}: {metric_points[0].metric_name or 'metric'} vs kept FLOPs"
        figures.append(("metric_vs_flops", partial(_metric_figure, plt, metric_points, title)))
    if kept:
        figures.append(
            ("kept_per_layer", partial(_kept_figure, plt, kept, f"{name}: kept per layer"))
        )
    written: list[Path] = []
    for kind, make in figures:
        written += _save(plt, make(), out, f"{name}_{kind}")
    if len(figures) < 4:
        log.info("%s: %d of 4 figures had data to plot", name, len(figures))
    return written
