"""The gate's decisions on fixed numbers: PASS, FAIL only after confirmation, WARN, IMPROVED,
missing baseline, incomparable machines, accuracy thresholds, exit codes."""

from __future__ import annotations

import pytest

from harness.gate.paired import PairedEstimate
from harness.gate.verdict import (
    accuracy_decision,
    exit_code_of,
    floor_of,
    needs_confirmation,
    overall,
    speedup_decision,
    suite_decision,
)

BASELINE, TOL = 2.0, 0.10  # floor 1.8, ceiling 2.2


def est(speedup: float, low: float, high: float, rounds: int = 10) -> PairedEstimate:
    return PairedEstimate(speedup, low, high, confidence=0.99, rounds=rounds)


def test_floor_is_baseline_times_one_minus_tol():
    assert floor_of(BASELINE, TOL) == pytest.approx(1.8)


def test_pass_when_the_estimate_reaches_the_floor():
    decision = speedup_decision(BASELINE, TOL, est(1.85, 1.7, 2.0))
    assert decision.verdict == "PASS"


def test_fail_only_after_the_confirmation_is_below_the_floor_too():
    first = est(1.5, 1.45, 1.55)
    assert needs_confirmation(first, BASELINE, TOL)
    assert speedup_decision(BASELINE, TOL, first).verdict == "WARN"  # not re-measured
    confirmed = speedup_decision(BASELINE, TOL, first, est(1.52, 1.47, 1.57, rounds=20))
    assert confirmed.verdict == "FAIL" and "confirmed" in confirmed.reason


def test_a_confirmation_that_does_not_reproduce_is_not_a_fail():
    first = est(1.5, 1.45, 1.55)
    assert speedup_decision(BASELINE, TOL, first, est(1.9, 1.85, 1.95)).verdict == "PASS"
    assert speedup_decision(BASELINE, TOL, first, est(1.75, 1.6, 1.85)).verdict == "WARN"


def test_inconclusive_is_a_warn():
    first = est(1.7, 1.5, 1.9)  # below the floor, CI reaches it
    assert not needs_confirmation(first, BASELINE, TOL)
    decision = speedup_decision(BASELINE, TOL, first)
    assert decision.verdict == "WARN" and "inconclusive" in decision.reason


def test_improved_past_tol_asks_for_a_baseline_refresh():
    decision = speedup_decision(BASELINE, TOL, est(2.5, 2.3, 2.7))
    assert decision.verdict == "IMPROVED" and "refresh the baseline" in decision.reason
    assert speedup_decision(BASELINE, TOL, est(2.5, 2.1, 2.7)).verdict == "PASS"  # CI not clear


def test_missing_baseline_is_a_warn():
    decision = speedup_decision(None, TOL, est(1.0, 0.9, 1.1))
    assert decision.verdict == "WARN" and "no baseline" in decision.reason
    assert not needs_confirmation(est(0.1, 0.1, 0.1), None, TOL)


def test_different_device_class_turns_fail_into_warn_and_says_why():
    why = ["device class 'cpu: A x2' vs 'cpu: B x64'"]
    first, again = est(1.5, 1.45, 1.55), est(1.5, 1.45, 1.55, rounds=20)
    decision = speedup_decision(BASELINE, TOL, first, again, why)
    assert decision.verdict == "WARN" and "cpu: B x64" in decision.reason


@pytest.mark.parametrize(
    ("baseline", "candidate", "verdict"),
    [(0.80, 0.800, "PASS"), (0.80, 0.7995, "PASS"), (0.80, 0.798, "WARN"), (0.80, 0.79, "FAIL")],
)
def test_accuracy_drop_in_points(baseline, candidate, verdict):
    assert accuracy_decision(baseline, candidate, 0.5, 0.1).verdict == verdict


def test_accuracy_edge_cases():
    assert accuracy_decision(None, 0.8, 0.5, 0.1).verdict == "WARN"
    assert accuracy_decision(0.8, None, 0.5, 0.1).verdict == "ERROR"
    assert accuracy_decision(0.8, 0.7, 0.5, 0.1, ["torch 2.1 vs 2.2"]).verdict == "WARN"
    assert accuracy_decision(0.8, 0.9, 0.5, 0.1).verdict == "PASS"  # a gain never fails


def test_suite_is_gated_at_half_the_tolerance():
    # relative geometric mean 0.96: inside tol/2 = 5%
    assert suite_decision(est(0.96, 0.94, 0.98), None, TOL).verdict == "PASS"
    first = est(0.93, 0.92, 0.94)
    assert suite_decision(first, None, TOL).verdict == "WARN"
    assert suite_decision(first, est(0.93, 0.92, 0.94), TOL).verdict == "FAIL"


def test_exit_codes_and_overall_verdict():
    assert exit_code_of(["PASS", "WARN", "IMPROVED"]) == 0
    assert exit_code_of(["PASS", "FAIL", "ERROR"]) == 1
    assert exit_code_of(["PASS", "ERROR"]) == 3
    assert exit_code_of(["IMPROVED"], ratchet=True) == 1
    assert overall(["PASS", "WARN", "IMPROVED"]) == "WARN"
    assert overall([]) == "PASS"
