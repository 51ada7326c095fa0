"""The paired bootstrap on cases with a known answer, and the suite's geometric mean."""

from __future__ import annotations

import math
from math import comb

import numpy as np
import pytest

from harness.gate.paired import bootstrap_medians, paired_estimate, suite_estimate


def test_identical_rounds_give_a_zero_width_interval():
    estimate = paired_estimate([math.log(2.0)] * 12, confidence=0.99, n_boot=500)
    assert estimate.speedup == pytest.approx(2.0)
    assert estimate.low == pytest.approx(2.0) and estimate.high == pytest.approx(2.0)
    assert estimate.rounds == 12 and estimate.half_width_ratio == pytest.approx(0.0)


def _exact_median_cdf(n: int, k: int) -> float:
    """P(bootstrap median <= x_(k)) for n distinct values, n odd: at least (n+1)/2 of the
    n draws fall among the k smallest (binomial with p = k/n)."""
    p = k / n
    need = (n + 1) // 2
    return sum(comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(need, n + 1))


def test_bootstrap_median_distribution_matches_the_binomial_formula():
    n = 7
    values = [float(v) for v in range(n)]  # distinct and sorted: x_(k) = k - 1
    medians = bootstrap_medians(values, n_boot=40_000, seed=3)
    for k in range(1, n + 1):
        observed = float(np.mean(medians <= values[k - 1]))
        assert observed == pytest.approx(_exact_median_cdf(n, k), abs=0.01)


def test_estimate_is_exp_of_the_median_log_ratio_and_the_ci_contains_it():
    logs = [math.log(v) for v in (1.9, 2.0, 2.1, 2.0, 1.95, 2.05, 2.0, 5.0, 0.5, 2.0, 2.02)]
    estimate = paired_estimate(logs, confidence=0.99, n_boot=2000)
    assert estimate.speedup == pytest.approx(2.0)
    assert estimate.low <= 2.0 <= estimate.high
    # an outlier round moves the median-based estimate by at most one rank
    assert estimate.low >= 1.9 and estimate.high <= 2.1


def test_same_inputs_same_numbers():
    logs = list(np.random.default_rng(1).normal(0.7, 0.05, size=15))
    assert paired_estimate(logs, 0.99, 1000) == paired_estimate(logs, 0.99, 1000)


def test_bad_log_ratios_are_rejected():
    with pytest.raises(ValueError, match="non-empty"):
        paired_estimate([], 0.99, 100)
    with pytest.raises(ValueError, match="NaN"):
        paired_estimate([float("nan")], 0.99, 100)


def test_suite_is_the_geometric_mean_of_candidate_over_baseline():
    trials = [([math.log(2.0)] * 10, 2.0), ([math.log(1.5)] * 10, 2.0)]  # 1.0 and 0.75
    suite = suite_estimate(trials, confidence=0.99, n_boot=500)
    assert suite.speedup == pytest.approx(math.sqrt(1.0 * 0.75))
    assert suite.low == pytest.approx(suite.speedup) and suite.rounds == 2
