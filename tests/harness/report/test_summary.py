"""The end-of-sweep summary table: one row per point, latency and speedup per runtime."""

from __future__ import annotations

from harness.report.summary import format_table, runtime_labels, summary_table
from tests.harness.handmade_runs import make_run, measurement


def test_summary_has_one_row_per_point_dense_first():
    lines = summary_table(make_run().measurements).splitlines()
    header, rows = lines[0], lines[2:]
    assert "torch ms" in header and "onnxruntime speedup" in header and "accuracy" in header
    assert [row.split()[0] for row in rows] == ["dense", "kprune", "kprune"]
    assert [row.split()[1] for row in rows] == ["1.00", "0.60", "0.30"]


def test_summary_cells_show_latency_speedup_ci_and_ideal():
    rows = summary_table(make_run().measurements).splitlines()[2:]
    pruned = rows[2]  # ratio 0.3: torch 3 ms, ORT 1.5 ms, speedup 3.33x, ideal 3.33x
    assert "3.00" in pruned and "1.50" in pruned
    assert "3.33x [3.00,3.67]" in pruned
    assert pruned.rstrip().endswith("3.33x")
    assert "0.6200" in pruned  # the metric of ratio 0.3


def test_errors_are_shown_not_hidden():
    rows = [measurement(1.0, "torch"), measurement(0.6, "torch", error="boom")]
    table = summary_table(rows)
    assert "error" in table.splitlines()[-1]


def test_labels_name_only_what_varies():
    run = make_run()
    labels = set(runtime_labels(run.measurements).values())
    assert labels == {"torch", "onnxruntime"}


def test_format_table_aligns_columns():
    text = format_table(["a", "bb"], [["xyz", "1"], ["q", "22"]])
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[2].startswith("xyz") and lines[3].endswith("22")


def test_empty_summary():
    assert summary_table([]) == "(no measurements)"
