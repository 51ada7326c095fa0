"""A run's figures, built from its stored results only (never measures) and saved as PNG + SVG:
accuracy vs latency with the Pareto frontier, measured speedup vs kept FLOPs with the ideal
1/ratio line, the task metric vs kept FLOPs, heads/neurons kept per layer.

Files are named `<config-name>_<run_id>_<figure>.{png,svg}`: the run_id is stored in the
results file, so the figures written at the end of a sweep and those re-plotted later from its
file have the same names, and two runs of one config (even numbered alike on two machines)
never overwrite each other's. Figures are built as objects first (`run_figures`) so what they
draw can be checked before anything is written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from harness.report.columns import prepared, timed
from harness.report.point_figures import kept_figure, metric_figure
from harness.report.table import runtime_column
from harness.report.timing_figures import accuracy_figure, speedup_figure
from harness.results.frame import measurements_frame, points_frame, read_runs_from
from harness.results.records import BenchmarkRun, read_run

log = logging.getLogger(__name__)

FORMATS = ("png", "svg")
FIGURES = ("accuracy_vs_latency", "speedup_vs_flops", "metric_vs_flops", "kept_per_layer")


def _file_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


def figure_prefix(run: BenchmarkRun) -> str:
    """`<config-name>_<run_id>`: what every figure file of `run` starts with."""
    name = _file_safe(str(run.config.get("name") or "run")) or "run"
    return f"{name}_{_file_safe(run.run_id) or 'run'}"


def _timing_figures(run: BenchmarkRun, name: str) -> dict[str, Figure]:
    rows = prepared(measurements_frame([(None, run)]))
    rows = rows.assign(runtime=runtime_column(rows))[timed(rows)]  # errors are left out
    scored = rows[rows["metric_value"].notna()]
    compared = rows[rows["speedup_vs_dense"].notna()]
    figures = {}
    if len(scored):
        names = scored["metric_name"].dropna()
        title = f"{name}: {names.iloc[0] if len(names) else 'metric'} vs latency"
        figures["accuracy_vs_latency"] = accuracy_figure(scored, title)
    if len(compared):
        title = f"{name}: measured speedup vs kept FLOPs"
        figures["speedup_vs_flops"] = speedup_figure(compared, title)
    return figures


def _point_figures(run: BenchmarkRun, name: str) -> dict[str, Figure]:
    points = points_frame([(None, run)])
    if points.empty:
        return {}
    points = points[points["error"].isna()]
    points = points.assign(metric_value=pd.to_numeric(points["metric_value"]))
    scored = points[points["metric_value"].notna()]
    kept = points[points["heads_per_layer"].map(bool)]
    figures = {}
    if len(scored):
        names = scored["metric_name"].dropna()
        budget = "parameters" if scored.get("budget", pd.Series()).eq("params").all() else "FLOPs"
        title = f"{name}: {names.iloc[0] if len(names) else 'metric'} vs kept {budget}"
        figures["metric_vs_flops"] = metric_figure(scored, title)
    if len(kept):
        figures["kept_per_layer"] = kept_figure(kept, f"{name}: kept per layer")
    return figures


def run_figures(run: BenchmarkRun) -> dict[str, Figure]:
    """Figure name (one of FIGURES, in that order) -> the built, unsaved Figure; a figure
    without data is left out (e.g. accuracy for a latency-only random-weight sweep)."""
    name = str(run.config.get("name") or run.run_id)
    built = {**_timing_figures(run, name), **_point_figures(run, name)}
    if len(built) < len(FIGURES):
        log.info("%s: %d of %d figures had data to plot", name, len(built), len(FIGURES))
    return {kind: built[kind] for kind in FIGURES if kind in built}


def plot_run(run_or_path: BenchmarkRun | Path | str, out_dir: Path | str) -> list[Path]:
    """Write the run's figures into out_dir as `<config>_<run_id>_<figure>.{png,svg}`;
    returns the written paths."""
    run = run_or_path if isinstance(run_or_path, BenchmarkRun) else read_run(run_or_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for kind, figure in run_figures(run).items():
        for ext in FORMATS:
            path = out / f"{figure_prefix(run)}_{kind}.{ext}"
            figure.savefig(path, dpi=120)
            written.append(path)
    return written


def plot_runs(paths: Iterable[Path | str], out_dir: Path | str) -> dict[Path, list[Path]]:
    """Each readable results file under `paths` (files or folders; bench_artifacts/ skipped)
    -> the figures written from it. An unreadable file is named in a warning and skipped:
    one corrupt file must not cost the figures of every other run."""
    runs, _ = read_runs_from(paths)
    return {path: plot_run(run, out_dir) for path, run in runs}
