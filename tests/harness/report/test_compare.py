"""Two stored runs side by side, joined on the trial key; machine mismatch noted."""

from __future__ import annotations

import dataclasses

from harness.report.compare import compare_runs, join_measurements, machine_of
from tests.harness.handmade_runs import make_run


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


def test_machine_mismatch_is_noted():
    text = compare_runs(make_run(machine="m-a"), make_run(machine="m-b"))
    assert "different machines (A: m-a, B: m-b)" in text
    assert machine_of(make_run(machine="m-a")) == "m-a"


def test_rows_missing_on_one_side_are_kept_and_counted():
    b = make_run()
    b = dataclasses.replace(b, measurements=b.measurements[:-1])
    pairs = join_measurements(make_run().measurements, b.measurements)
    assert len(pairs) == 6 and sum(1 for _, y in pairs if y is None) == 1
    text = compare_runs(make_run(), b)
    assert "1 rows only in A, 0 rows only in B" in text
    assert any("-" in row[9] for row in _rows(text))


def test_different_configs_are_noted():
    assert "different configs" in compare_runs(make_run(name="x"), make_run(name="y"))
