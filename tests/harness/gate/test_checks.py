"""Joining a candidate with its baseline: confirmation only below the floor, missing trials,
comparability, the suite, accuracy at the same (method, ratio, seed)."""

from __future__ import annotations

from harness.config.gate_spec import GateSpec
from harness.gate.checks import decide
from harness.gate.outcome import GateOutcome
from tests.harness.gate.canned import CPU_ENV, KEY_A, KEY_B, CannedTrials, estimate, side

SPEC = GateSpec(n_boot=300)
POINT = "kprune@0.5|seed=0"


def _verdicts(checks) -> dict[str, str]:
    return {c.name: c.verdict for c in checks}


def _outcome(checks) -> GateOutcome:
    return GateOutcome(checks=checks, candidate={}, baseline={}, settings={})


def test_unchanged_candidate_passes_without_confirmation():
    source = CannedTrials({KEY_A: estimate(2.0), KEY_B: estimate(3.0)}, {})
    candidate = side({}, metrics={POINT: 0.80})
    checks = decide(source, candidate, side({KEY_A: 2.0, KEY_B: 3.0}, metrics={POINT: 0.80}), SPEC)
    verdicts = _verdicts(checks)
    assert verdicts[KEY_A] == verdicts[KEY_B] == verdicts[POINT] == "PASS"
    assert any(c.kind == "suite" and c.verdict == "PASS" for c in checks)
    assert source.confirmed == [] and _outcome(checks).exit_code == 0


def test_regression_is_confirmed_then_fails_with_exit_1():
    slow = estimate(1.6)  # baseline 2.0, floor 1.8
    again = {KEY_A: estimate(1.6, rounds=20), KEY_B: estimate(3.0, rounds=20)}
    source = CannedTrials({KEY_A: slow, KEY_B: estimate(3.0)}, again)
    checks = decide(source, side({}), side({KEY_A: 2.0, KEY_B: 3.0}), SPEC)
    # KEY_A under its floor; then the suite (geometric mean 0.89 < 0.95) confirms KEY_B too
    assert source.confirmed == [KEY_A, KEY_B]
    check = next(c for c in checks if c.name == KEY_A)
    assert check.verdict == "FAIL" and check.numbers["retries"] == 1
    assert check.numbers["rounds"] == 20 and check.numbers["floor"] == 1.8
    assert _verdicts(checks)[KEY_B] == "PASS"
    assert next(c for c in checks if c.kind == "suite").verdict == "FAIL"
    assert _outcome(checks).exit_code == 1


def test_a_different_device_class_turns_the_fail_into_a_warn():
    other = {**CPU_ENV, "cpu_model": "Other CPU", "logical_cores": 64}
    source = CannedTrials({KEY_A: estimate(1.6)}, {KEY_A: estimate(1.6)})
    checks = decide(source, side({}), side({KEY_A: 2.0}, env=other), SPEC)
    check = next(c for c in checks if c.name == KEY_A)
    assert check.verdict == "WARN" and "Other CPU" in check.reason
    assert _outcome(checks).exit_code == 0


def test_missing_baseline_warns_or_exits_3_when_required():
    source = CannedTrials({KEY_A: estimate(2.0)}, {})
    checks = decide(source, side({}), None, SPEC)
    assert _verdicts(checks) == {"baseline": "WARN", KEY_A: "WARN"}
    assert _outcome(checks).exit_code == 0
    required = decide(source, side({}), None, SPEC, require_baseline=True)
    assert _outcome(required).exit_code == 3


def test_a_baseline_trial_missing_from_the_candidate_exits_3():
    source = CannedTrials({KEY_A: estimate(2.0)}, {})
    checks = decide(source, side({}), side({KEY_A: 2.0, KEY_B: 3.0}), SPEC)
    assert _verdicts(checks)[KEY_B] == "ERROR" and _outcome(checks).exit_code == 3


def test_suite_drop_within_every_trials_tolerance_is_confirmed_before_failing():
    # each trial 8% slower: inside tol 10% (no trial fails) but past tol/2 for the suite
    first = {KEY_A: estimate(1.84, 0.01), KEY_B: estimate(2.76, 0.01)}
    source = CannedTrials(first, dict(first))
    checks = decide(source, side({}), side({KEY_A: 2.0, KEY_B: 3.0}), SPEC)
    suite = next(c for c in checks if c.kind == "suite")
    assert sorted(source.confirmed) == sorted([KEY_A, KEY_B])
    assert suite.verdict == "FAIL" and _verdicts(checks)[KEY_A] == "PASS"


def test_accuracy_drop_fails_at_the_same_method_ratio_and_seed():
    source = CannedTrials({KEY_A: estimate(2.0)}, {})
    base = side({KEY_A: 2.0}, metrics={POINT: 0.80, "kprune@0.5|seed=1": 0.9})
    checks = decide(source, side({}, metrics={POINT: 0.79}), base, SPEC)
    verdicts = _verdicts(checks)
    assert verdicts[POINT] == "FAIL" and verdicts["kprune@0.5|seed=1"] == "ERROR"
