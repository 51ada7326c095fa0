"""The end-of-sweep summary table: one row per point, latency and speedup per runtime."""

from __future__ import annotations

import pandas as pd

from harness.report.summary import summary_table
from harness.report.table import format_table, point_sorted, runtime_column, runtime_labels
from tests.harness.handmade_runs import frame_of, make_run, measurement, rows_frame


def _rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()[2:]]


def test_summary_has_one_row_per_point_dense_first():
    lines = summary_table(frame_of(make_run())).splitlines()
    assert lines[0].split() == [
        "method",
        "ratio",
        "flops",
        "accuracy",
        "batch",
        "seq",
        "onnxruntime",
        "ms",
        "onnxruntime",
        "speedup",
        "torch",
        "ms",
        "torch",
        "speedup",
        "ideal",
    ]
    rows = _rows("\n".join(lines))
    assert [row[0] for row in rows] == ["dense", "kprune", "kprune"]
    assert [row[1] for row in rows] == ["1.00", "0.60", "0.30"]


def test_summary_cells_show_latency_speedup_ci_and_ideal():
    rows = summary_table(frame_of(make_run())).splitlines()[2:]
    pruned = rows[2]  # ratio 0.3: torch 3 ms, ORT 1.5 ms, speedup 3.33x, ideal 3.33x
    assert pruned.split()[:6] == ["kprune", "0.30", "0.300", "0.6200", "1", "128"]
    assert "3.00" in pruned and "1.50" in pruned
    assert "3.33x [3.00,3.67]" in pruned
    assert pruned.rstrip().endswith("3.33x")


def test_one_row_per_shape_sorted_by_batch():
    rows = _rows(summary_table(frame_of(make_run(batches=(8, 1)))))
    assert [(r[0], r[1], r[4]) for r in rows][:2] == [
        ("dense", "1.00", "1"),
        ("dense", "1.00", "8"),
    ]
    assert len(rows) == 6


def test_errors_are_shown_not_hidden():
    rows = [measurement(1.0, "torch"), measurement(0.6, "torch", error="boom")]
    last = _rows(summary_table(rows_frame(rows)))[-1]
    assert last[6:8] == ["error", "-"]


def test_a_runtime_missing_for_a_point_is_a_dash():
    rows = [measurement(1.0, "torch"), measurement(1.0, "onnxruntime"), measurement(0.6, "torch")]
    pruned = _rows(summary_table(rows_frame(rows)))[-1]
    assert pruned[6:8] == ["-", "-"]  # onnxruntime ms, speedup
    assert pruned[8] == "6.00"


def test_error_only_frame_still_renders():
    rows = [measurement(1.0, "torch", error="boom"), measurement(0.6, "torch", error="boom")]
    assert [r[6] for r in _rows(summary_table(rows_frame(rows)))] == ["error", "error"]


def test_labels_name_only_what_varies():
    frame = frame_of(make_run())
    assert runtime_labels(frame) == {
        ("onnxruntime", "default", "cpu", "float32"): "onnxruntime",
        ("torch", "eager", "cpu", "float32"): "torch",
    }
    assert set(runtime_column(frame)) == {"torch", "onnxruntime"}


def test_labels_add_a_field_only_when_it_tells_runtimes_apart():
    rows = [measurement(1.0, "torch"), measurement(0.6, "torch")]
    frame = rows_frame(rows)
    frame.loc[1, "dtype"] = "float16"
    assert list(runtime_column(frame)) == ["float32", "float16"]


def test_point_sorted_puts_dense_first_then_larger_ratios():
    frame = pd.DataFrame(
        {"method": ["a", "dense", "a", "b"], "target_flops_ratio": [0.3, 1.0, 0.6, 0.9]}
    )
    ordered = point_sorted(frame)
    assert list(zip(ordered["method"], ordered["target_flops_ratio"], strict=True)) == [
        ("dense", 1.0),
        ("a", 0.6),
        ("a", 0.3),
        ("b", 0.9),
    ]


def test_format_table_aligns_columns():
    text = format_table(["a", "bb"], [["xyz", "1"], ["q", "22"]])
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[2].startswith("xyz") and lines[3].endswith("22")


def test_empty_summary():
    assert summary_table(frame_of()) == "(no measurements)"
