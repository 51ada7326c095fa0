"""What the figures draw, read back from the matplotlib objects before anything is saved: one
line per (method, runtime) with the dense point on each, the Pareto frontier, the ideal line."""

from __future__ import annotations

import dataclasses

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from harness.report.plots import run_figures  # noqa: E402
from harness.report.timing_figures import pareto_front  # noqa: E402
from tests.harness.handmade_runs import make_run, measurement  # noqa: E402

RUNTIMES = ("onnxruntime", "torch")


def drawn(ax) -> dict[str, tuple[list[float], list[float]]]:
    """Legend label -> (x, y) of every labelled line, error-bar series and scatter on `ax`."""
    series = {c.get_label(): c.lines[0].get_data() for c in ax.containers}
    series |= {line.get_label(): line.get_data() for line in ax.get_lines()}
    for points in ax.collections:
        series[points.get_label()] = tuple(points.get_offsets().T)
    return {
        label: (list(map(float, x)), list(map(float, y)))
        for label, (x, y) in series.items()
        if not label.startswith("_")
    }


def _bars(ax, label: str) -> list[tuple[float, float]]:
    """(low, high) of each error bar of the error-bar series `label`, along its bars' axis."""
    container = next(c for c in ax.containers if c.get_label() == label)
    segments = container.lines[2][0].get_segments()
    return [tuple(map(float, s[:, 1] if s[0, 0] == s[1, 0] else s[:, 0])) for s in segments]


def _replaced(run, ratio: float, backend: str, **changes):
    rows = [
        dataclasses.replace(m, **changes)
        if (m.target_flops_ratio, m.backend) == (ratio, backend)
        else m
        for m in run.measurements
    ]
    return dataclasses.replace(run, measurements=rows)


def test_speedup_has_a_line_per_method_and_runtime_each_starting_at_dense():
    ax = run_figures(make_run(methods=("kprune", "uniform")))["speedup_vs_flops"].axes[0]
    lines = drawn(ax)
    methods = {f"{m} ({r})" for m in ("kprune", "uniform") for r in RUNTIMES}
    assert set(lines) == methods | {"ideal 1/ratio"}
    assert {t.get_text() for t in ax.get_legend().get_texts()} == set(lines)
    for label in methods:
        x, y = lines[label]
        assert x == [0.3, 0.6, 1.0]
        assert y == pytest.approx([1 / 0.3, 1 / 0.6, 1.0])


def test_speedup_bars_are_the_stored_ci_and_dense_has_none():
    ax = run_figures(make_run())["speedup_vs_flops"].axes[0]
    bars = _bars(ax, "kprune (torch)")
    assert bars[0] == pytest.approx((3.0, 1 / 0.3 * 1.1))  # ratio 0.3: [0.9, 1.1] x speedup
    assert bars[2] == pytest.approx((1.0, 1.0))  # dense: no CI, a zero-length bar


def test_ideal_line_is_one_over_the_kept_ratio_down_to_the_lowest_point():
    x, y = drawn(run_figures(make_run())["speedup_vs_flops"].axes[0])["ideal 1/ratio"]
    assert (min(x), max(x)) == pytest.approx((0.3, 1.0))
    assert np.allclose(y, 1 / np.array(x))


def test_accuracy_lines_frontier_and_dense_star():
    run = _replaced(make_run(), 0.6, "torch", metric_value=0.5)  # dominated by ratio 0.3
    ax = run_figures(run)["accuracy_vs_latency"].axes[0]
    lines = drawn(ax)
    assert lines["kprune (torch)"] == ([3.0, 6.0, 10.0], pytest.approx([0.62, 0.5, 0.9]))
    torch_points = list(zip(*lines["kprune (torch)"], strict=True))
    front = [torch_points[i] for i in pareto_front(torch_points)]
    frontier = lines["Pareto frontier (torch)"]
    assert list(zip(*frontier, strict=True)) == front
    assert frontier[0] == [3.0, 10.0]
    assert sorted(zip(*lines["dense"], strict=True)) == [(5.0, 0.9), (10.0, 0.9)]
    assert _bars(ax, "kprune (torch)")[0] == pytest.approx((2.85, 3.15))  # latency 95% CI


def test_error_rows_are_left_out_of_every_timing_figure():
    run = _replaced(make_run(), 0.3, "torch", latency=None, error="boom")
    figures = run_figures(run)
    for kind in ("speedup_vs_flops", "accuracy_vs_latency"):
        lines = drawn(figures[kind].axes[0])
        assert 0.3 not in lines["kprune (torch)"][0] and 3.0 not in lines["kprune (torch)"][0]
        assert len(lines["kprune (onnxruntime)"][0]) == 3
    assert 3.0 not in drawn(figures["accuracy_vs_latency"].axes[0])["Pareto frontier (torch)"][0]


def test_one_panel_per_shape_and_no_empty_panel():
    figure = run_figures(make_run(batches=(8, 1, 4)))["accuracy_vs_latency"]
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == ["batch 1, seq 128", "batch 4, seq 128", "batch 8, seq 128"]
    assert drawn(figure.axes[2])["kprune (torch)"][0] == [24.0, 48.0, 80.0]


def test_metric_vs_flops_has_a_line_per_method_through_dense():
    ax = run_figures(make_run(methods=("kprune", "uniform")))["metric_vs_flops"].axes[0]
    lines = drawn(ax)
    assert set(lines) == {"kprune", "uniform"}
    for x, y in lines.values():
        assert (x, y) == ([0.3, 0.6, 1.0], pytest.approx([0.62, 0.74, 0.9]))
    assert [tuple(p) for p in ax.collections[0].get_offsets()] == [(1.0, 0.9)]  # dense star
    assert ax.xaxis_inverted()


def test_kept_per_layer_draws_each_point_dense_first():
    run = make_run()
    heads_ax, neurons_ax = run_figures(run)["kept_per_layer"].axes
    for ax, field in ((heads_ax, "heads_per_layer"), (neurons_ax, "neurons_per_layer")):
        lines = drawn(ax)
        assert list(lines) == ["dense 1", "kprune 0.6", "kprune 0.3"]
        expected = {f"{p.method} {p.target_flops_ratio:g}": getattr(p, field) for p in run.points}
        assert {k: y for k, (_, y) in lines.items()} == expected


def test_figures_without_data_are_left_out():
    run = make_run(name="latency")
    rows = [dataclasses.replace(m, metric_value=None, metric_name=None) for m in run.measurements]
    kinds = run_figures(dataclasses.replace(run, measurements=rows))
    assert list(kinds) == ["speedup_vs_flops", "metric_vs_flops", "kept_per_layer"]
    assert run_figures(dataclasses.replace(run, measurements=[], points=[])) == {}


def test_error_only_run_draws_only_its_points():
    rows = [measurement(r, "torch", error="boom") for r in (1.0, 0.6)]
    kinds = run_figures(dataclasses.replace(make_run(), measurements=rows))
    assert list(kinds) == ["metric_vs_flops", "kept_per_layer"]


def test_pareto_front_keeps_points_no_other_beats():
    points = [(1.0, 0.80), (2.0, 0.85), (3.0, 0.84), (1.5, 0.70), (4.0, 0.90)]
    assert pareto_front(points) == [0, 1, 4]
    assert pareto_front([]) == []
    assert pareto_front([(1.0, 0.5), (1.0, 0.6)]) == [1]
