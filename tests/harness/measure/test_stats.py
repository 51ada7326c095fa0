"""Statistics on fixed numbers: percentiles, spread, outliers, bootstrap CIs."""

from __future__ import annotations

import math

import pytest

from harness.measure.stats import LatencyStats, speedup_ci, summarize

ONE_TO_TEN = [float(x) for x in range(1, 11)]


def test_summary_of_one_to_ten() -> None:
    s = summarize(ONE_TO_TEN)
    assert s.count == 10 and s.mean_ms == 5.5 and s.median_ms == 5.5
    assert s.p90_ms == pytest.approx(9.1) and s.p99_ms == pytest.approx(9.91)
    assert s.std_ms == pytest.approx(math.sqrt(55 / 6))  # sample std, ddof=1
    assert s.iqr_ms == pytest.approx(4.5)  # 7.75 - 3.25
    assert (s.min_ms, s.max_ms, s.outliers) == (1.0, 10.0, 0)
    assert s.ci95_low_ms <= 5.5 <= s.ci95_high_ms
    assert s.ci95_low_ms >= 2.0 and s.ci95_high_ms <= 9.0


def test_outliers_are_counted_not_dropped() -> None:
    s = summarize([10.0, 11.0, 10.5, 10.2, 10.8, 50.0, 1.0])
    assert s.outliers == 2 and s.count == 7 and s.max_ms == 50.0


def test_bootstrap_is_seeded() -> None:
    samples = [1.0, 1.2, 0.9, 1.5, 1.1, 1.3, 2.0, 0.95]
    assert summarize(samples, seed=3) == summarize(samples, seed=3)
    assert summarize(samples, seed=3, n_boot=500) != summarize(samples, seed=4, n_boot=500)


def test_single_sample() -> None:
    s = summarize([4.0])
    assert s == LatencyStats(1, 4.0, 4.0, 4.0, 4.0, 0.0, 0.0, 4.0, 4.0, 0, 4.0, 4.0)


def test_constant_samples_have_a_degenerate_interval() -> None:
    s = summarize([2.5] * 20)
    assert (s.ci95_low_ms, s.median_ms, s.ci95_high_ms, s.std_ms) == (2.5, 2.5, 2.5, 0.0)


def test_speedup_of_a_twice_as_fast_model() -> None:
    assert speedup_ci([10.0] * 5, [5.0] * 7) == (2.0, 2.0, 2.0)
    point, low, high = speedup_ci([9.0, 10.0, 11.0, 10.0], [5.0, 4.0, 6.0, 5.0], seed=1)
    assert point == 2.0 and low < 2.0 < high
    assert speedup_ci([9.0, 10.0, 11.0], [5.0, 4.0, 6.0], seed=1) == speedup_ci(
        [9.0, 10.0, 11.0], [5.0, 4.0, 6.0], seed=1
    )


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [[1.0, 2.0]]])
def test_bad_samples_are_rejected(bad) -> None:
    with pytest.raises(ValueError, match="summarize"):
        summarize(bad)
