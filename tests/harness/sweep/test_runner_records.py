"""Measurement records from raw timings: speedup vs the interleaved dense twin, else stored."""

from __future__ import annotations

import pytest

from harness.config.schema import load_config
from harness.sweep.plan import expand_trials
from harness.sweep.rows import measurement, point_record
from harness.sweep.stages import PointModel
from harness.measure.clock import TimingResult
from harness.sweep.timing import TrialTiming


def _timing(ms: float, dense_ms: float | None = None) -> TrialTiming:
    def result(value: float) -> TimingResult:
        return TimingResult(tuple([value / 1e3] * 5), value / 1e3, 0.0)

    return TrialTiming(result(ms), 1, dense=result(dense_ms) if dense_ms else None)


def _pruned_trial_and_model():
    trial = next(t for t in expand_trials(load_config("smoke")) if not t.point.is_dense)
    built = PointModel(trial.point, None, 0.5, 100, [2, 1], [30, 20], prune_seconds=1.5)  # type: ignore[arg-type]
    return trial, built


def test_speedup_comes_from_the_interleaved_dense_twin():
    trial, built = _pruned_trial_and_model()
    stored = {trial.dense_key: [40.0] * 5}
    row = measurement(trial, built, None, _timing(10.0, dense_ms=30.0), stored, {})
    assert row.speedup_vs_dense == pytest.approx(3.0)
    assert row.ideal_speedup == pytest.approx(2.0) and row.latency.median_ms == pytest.approx(10.0)


def test_speedup_falls_back_to_the_stored_dense_samples():
    trial, built = _pruned_trial_and_model()
    row = measurement(trial, built, None, _timing(10.0), {trial.dense_key: [40.0] * 5}, {})
    assert row.speedup_vs_dense == pytest.approx(4.0)
    assert measurement(trial, built, None, _timing(10.0), {}, {}).speedup_vs_dense is None


def test_failed_timing_becomes_an_error_row():
    trial, built = _pruned_trial_and_model()
    row = measurement(trial, built, None, TrialTiming(None, 1, "boom"), {}, {})
    assert row.error == "boom" and row.latency is None and row.samples_ms == []


def test_point_record_keeps_what_was_kept():
    _, built = _pruned_trial_and_model()
    record = point_record(built, None)
    assert record.heads_per_layer == [2, 1] and record.neurons_per_layer == [30, 20]
    assert record.achieved_flops_ratio == 0.5 and record.metric_value is None
