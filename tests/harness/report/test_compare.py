"""Two stored runs side by side, joined on the trial key; machine mismatch noted."""

from __future__ import annotations

import dataclasses

from harness.report.compare import compare_runs, join_trials, machine_of
from tests.harness.handmade_runs import frame_of, make_run, measurement


def _rows(text: str) -> list[list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("method"))
    return [line.split() for line in lines[start + 2 :]]


def test_same_machine_rows_show_a_b_and_ratio():
    text = compare_runs(make_run(), make_run(dense_ms=12.0))
    assert "different machines" not in text
    rows = _rows(text)
    assert len(rows) == 6
    dense_torch = next(r for r in rows if r[0] == "dense" and r[2] == "torch")
    assert dense_torch[8:11] == ["10.00", "12.00", "1.200"]
    assert dense_torch[11:] == ["1.00", "1.00", "0.9000", "0.9000"]


def test_rows_are_in_point_order_then_runtime():
    rows = _rows(compare_runs(make_run(), make_run()))
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("dense", "1.00", "onnxruntime"),
        ("dense", "1.00", "torch"),
        ("kprune", "0.60", "onnxruntime"),
        ("kprune", "0.60", "torch"),
        ("kprune", "0.30", "onnxruntime"),
        ("kprune", "0.30", "torch"),
    ]


def test_machine_mismatch_is_noted():
    text = compare_runs(make_run(machine="m-a"), make_run(machine="m-b"))
    assert "different machines (A: m-a, B: m-b)" in text
    assert machine_of(make_run(machine="m-a")) == "m-a"


def test_rows_missing_on_one_side_are_kept_and_counted():
    b = make_run()
    b = dataclasses.replace(b, measurements=b.measurements[:-1])
    joined = join_trials(frame_of(make_run()), frame_of(b))
    assert len(joined) == 6 and list(joined["present"]).count("left_only") == 1
    missing = joined[joined["present"] == "left_only"].iloc[0]
    assert (missing["method"], missing["backend"], missing["ms_a"]) == (
        "kprune",
        "onnxruntime",
        1.5,
    )
    text = compare_runs(make_run(), b)
    assert "1 rows only in A, 0 rows only in B" in text
    assert any(row[9:11] == ["-", "-"] for row in _rows(text))


def test_failed_trial_has_no_median_and_no_ratio():
    b = make_run()
    broken = measurement(0.3, "torch", error="boom")
    b = dataclasses.replace(b, measurements=[*b.measurements[:-2], broken, b.measurements[-1]])
    row = next(
        r for r in _rows(compare_runs(make_run(), b)) if r[:3] == ["kprune", "0.30", "torch"]
    )
    assert row[8:11] == ["3.00", "-", "-"]


def test_run_without_measurements_compares_as_only_a():
    empty = dataclasses.replace(make_run(), measurements=[])
    text = compare_runs(make_run(), empty)
    assert "6 rows only in A, 0 rows only in B" in text and len(_rows(text)) == 6
    assert "(no rows)" in compare_runs(empty, empty)


def test_different_configs_are_noted():
    assert "different configs" in compare_runs(make_run(name="x"), make_run(name="y"))
