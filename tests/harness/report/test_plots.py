"""Figures come from stored results only: PNG + SVG per figure, Pareto frontier logic."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.report.plots import pareto_front, plot_run
from harness.results.records import write_run
from tests.harness.handmade_runs import make_run

FIGURES = ("accuracy_vs_latency", "speedup_vs_flops", "metric_vs_flops", "kept_per_layer")


@pytest.mark.slow
def test_plot_run_writes_png_and_svg_of_each_figure(tmp_path: Path):
    written = plot_run(make_run(batches=(1, 8)), tmp_path / "plots")
    expected = {f"handmade_{kind}.{ext}" for kind in FIGURES for ext in ("png", "svg")}
    assert {p.name for p in written} == expected
    assert all(p.stat().st_size > 0 for p in written)
    assert (tmp_path / "plots" / "handmade_kept_per_layer.svg").read_text().startswith("<?xml")


@pytest.mark.slow
def test_plot_run_reads_a_stored_results_file(tmp_path: Path):
    path = write_run(make_run(name="stored"), tmp_path / "results")
    written = plot_run(path, tmp_path / "plots")
    assert len(written) == 8 and all(p.name.startswith("stored_") for p in written)


@pytest.mark.slow
def test_latency_only_run_has_no_accuracy_figure(tmp_path: Path):
    run = make_run(name="latency")
    rows = [dataclasses.replace(m, metric_value=None, metric_name=None) for m in run.measurements]
    written = plot_run(dataclasses.replace(run, measurements=rows), tmp_path)
    assert not any("accuracy" in p.name for p in written)
    assert any("speedup_vs_flops" in p.name for p in written)


@pytest.mark.slow
def test_error_rows_are_left_out_not_fatal(tmp_path: Path):
    run = make_run(name="errors")
    broken = dataclasses.replace(run.measurements[-1], latency=None, error="boom")
    run = dataclasses.replace(run, measurements=[*run.measurements[:-1], broken])
    assert len(plot_run(run, tmp_path)) == 8


def test_pareto_front_keeps_points_no_other_beats():
    points = [(1.0, 0.80), (2.0, 0.85), (3.0, 0.84), (1.5, 0.70), (4.0, 0.90)]
    assert pareto_front(points) == [0, 1, 4]
    assert pareto_front([]) == []
    assert pareto_front([(1.0, 0.5), (1.0, 0.6)]) == [1]
