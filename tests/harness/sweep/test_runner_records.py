"""Measurement records from raw timings: speedup vs the interleaved dense twin, else stored."""

from __future__ import annotations

import dataclasses

import pytest

from harness.config.load import load_config
from harness.measure.clock import TimingResult
from harness.results.records import PrunePoint
from harness.sweep.plan import expand_trials
from harness.sweep.rows import measurement
from harness.sweep.types import TrialTiming


def _timing(ms: float, dense_ms: float | None = None) -> TrialTiming:
    def result(value: float) -> TimingResult:
        return TimingResult(tuple([value / 1e3] * 5), value / 1e3, 0.0)

    return TrialTiming(result(ms), dense=result(dense_ms) if dense_ms else None)


def _pruned_trial_and_model():
    trial = next(t for t in expand_trials(load_config("smoke")) if not t.point.is_dense)
    record = PrunePoint(
        method=trial.point.method,
        target_flops_ratio=trial.point.target_flops_ratio,
        achieved_flops_ratio=0.5,
        params=100,
        heads_per_layer=[2, 1],
        neurons_per_layer=[30, 20],
        prune_seconds=1.5,
        metric_name="accuracy",
        metric_value=0.75,
    )
    return trial, record


def test_speedup_comes_from_the_interleaved_dense_twin():
    trial, built = _pruned_trial_and_model()
    stored = {trial.dense_key: [40.0] * 5}
    row = measurement(trial, built, _timing(10.0, dense_ms=30.0), stored, {})
    assert row.speedup_vs_dense == pytest.approx(3.0)
    assert row.dense_samples_ms == [30.0] * 5  # the denominator is stored with the row
    assert row.metric_value == 0.75 and row.prune_seconds == 1.5
    assert row.ideal_speedup == pytest.approx(2.0) and row.latency.median_ms == pytest.approx(10.0)


def test_speedup_falls_back_to_the_stored_dense_samples():
    trial, built = _pruned_trial_and_model()
    row = measurement(trial, built, _timing(10.0), {trial.dense_key: [40.0] * 5}, {})
    assert row.speedup_vs_dense == pytest.approx(4.0)
    assert measurement(trial, built, _timing(10.0), {}, {}).speedup_vs_dense is None


def test_failed_timing_becomes_an_error_row():
    trial, built = _pruned_trial_and_model()
    row = measurement(trial, built, TrialTiming(None, "boom"), {}, {})
    assert row.error == "boom" and row.latency is None and row.samples_ms == []


def test_a_zero_flops_point_has_no_ideal_speedup_instead_of_a_crash():
    trial, record = _pruned_trial_and_model()
    empty = dataclasses.replace(record, achieved_flops_ratio=0.0)
    row = measurement(trial, empty, _timing(1.0, dense_ms=30.0), {}, {})
    assert row.ideal_speedup is None and row.speedup_vs_dense == pytest.approx(30.0)
