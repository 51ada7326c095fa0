"""Join a candidate with its baseline on trial keys and point keys and decide every check:
each pruned trial's speedup (measured, confirmed when its CI falls under the floor), each
point's accuracy, and the suite's geometric mean. The timing itself is the `TrialSource`'s.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from harness.config.gate_spec import GateSpec
from harness.gate import verdict as rules
from harness.gate.accuracy import accuracy_checks
from harness.gate.evidence import Side, TrialEvidence
from harness.gate.fingerprint import differences
from harness.gate.outcome import Check
from harness.gate.paired import PairedEstimate, suite_estimate
from harness.gate.settings import settings_for

log = logging.getLogger(__name__)


class TrialSource(Protocol):
    """The candidate's trials: measured on demand (`first`), re-measured on demand (`confirm`)."""

    remeasurable: bool

    @property
    def keys(self) -> list[str]: ...

    def first(self, key: str) -> TrialEvidence: ...

    def confirm(self, evidence: TrialEvidence) -> TrialEvidence: ...


class StoredTrials:
    """A candidate that cannot be re-measured (a pytest-benchmark file): evidence as stored."""

    remeasurable = False

    def __init__(self, side: Side) -> None:
        self.side = side

    @property
    def keys(self) -> list[str]:
        return list(self.side.trials)

    def first(self, key: str) -> TrialEvidence:
        return self.side.trials[key]

    def confirm(self, evidence: TrialEvidence) -> TrialEvidence:
        return evidence


def _numbers(e: PairedEstimate | None, prefix: str = "") -> dict[str, Any]:
    if e is None:
        return {}
    return {
        f"{prefix}estimate": e.speedup,
        f"{prefix}ci_low": e.low,
        f"{prefix}ci_high": e.high,
        f"{prefix}rounds": e.rounds,
    }


def _speedup_check(
    ev: TrialEvidence, base: TrialEvidence | None, spec: GateSpec, diffs: Sequence[str]
) -> Check:
    settings = settings_for(spec, ev.key, ev.device)
    assert ev.first is not None, "errored trials are decided before"
    baseline = base.final.speedup if base is not None and base.final is not None else None
    decision = rules.speedup_decision(baseline, settings.tol_ratio, ev.first, ev.confirm, diffs)
    numbers = {
        "baseline": baseline,
        "floor": None if baseline is None else rules.floor_of(baseline, settings.tol_ratio),
        "tol": settings.tol_ratio,
        "confidence": ev.first.confidence,
        **_numbers(ev.final),
        "first_estimate": ev.first.speedup,
        "first_ci_high": ev.first.high,
        "first_rounds": ev.first.rounds,
        "retries": int(ev.confirm is not None),
        "dense_p50_ms": ev.dense_p50_ms,
        "pruned_p50_ms": ev.pruned_p50_ms,
        "device": ev.device,
    }
    return Check(ev.key, "speedup", decision.verdict, decision.reason, numbers, tuple(diffs))


def _measure(
    source: TrialSource, baseline: Side | None, spec: GateSpec
) -> tuple[dict[str, TrialEvidence], list[Check]]:
    """Every candidate trial measured; those under their floor re-measured; errors as checks."""
    measured, errors = {}, []
    for key in source.keys:
        ev = source.first(key)
        if ev.error or ev.first is None:
            errors.append(Check(key, "speedup", "ERROR", ev.error or "not measured"))
            continue
        base = baseline.trials.get(key) if baseline else None
        base_speedup = base.final.speedup if base and base.final else None
        tol = settings_for(spec, key, ev.device).tol_ratio
        if source.remeasurable and rules.needs_confirmation(ev.first, base_speedup, tol):
            log.info("%s: below the floor; confirming with %d rounds", key, 2 * ev.first.rounds)
            ev = source.confirm(ev)
            if ev.error:
                errors.append(Check(key, "speedup", "ERROR", ev.error))
                continue
        measured[key] = ev
    return measured, errors


def _suite_inputs(
    measured: Mapping[str, TrialEvidence], baseline: Side, which: Literal["first", "final"]
) -> list[tuple[tuple[float, ...], float]]:
    pairs = []
    for key, ev in measured.items():
        base = baseline.trials.get(key)
        estimate = ev.first if which == "first" else ev.final
        if base is None or base.final is None or estimate is None or not estimate.log_ratios:
            continue
        pairs.append((estimate.log_ratios, base.final.speedup))
    return pairs


def _suite_check(
    source: TrialSource,
    measured: dict[str, TrialEvidence],
    baseline: Side,
    spec: GateSpec,
    diffs: Sequence[str],
) -> Check | None:
    """The geometric mean of candidate/baseline over the trials both have; re-measures every
    unconfirmed trial when its CI lies under 1 - tol/2 before it can fail."""
    first_inputs = _suite_inputs(measured, baseline, "first")
    if not first_inputs:
        return None
    tols = [settings_for(spec, k, ev.device).tol_ratio for k, ev in measured.items()]
    tol = statistics.fmean(tols)
    first = suite_estimate(first_inputs, spec.confidence, spec.n_boot)
    confirm = None
    if source.remeasurable and rules.needs_confirmation(first, 1.0, tol / 2):
        log.info("suite below its floor; confirming every trial")
        for key, ev in list(measured.items()):
            if ev.confirm is None:
                measured[key] = source.confirm(ev)
        final_inputs = _suite_inputs(measured, baseline, "final")
        confirm = suite_estimate(final_inputs, spec.confidence, spec.n_boot)
    decision = rules.suite_decision(first, confirm, tol, diffs)
    numbers = {
        "baseline": 1.0,
        "floor": 1.0 - tol / 2,
        "tol": tol / 2,
        "confidence": first.confidence,
        **_numbers(confirm or first),
        "trials": first.rounds,
        "retries": int(confirm is not None),
    }
    return Check(
        "suite geometric mean (candidate/baseline)",
        "suite",
        decision.verdict,
        decision.reason,
        numbers,
        tuple(diffs),
    )


def _missing_trials(source: TrialSource, baseline: Side) -> list[Check]:
    return [
        Check(key, "speedup", "ERROR", "in the baseline, missing from the candidate")
        for key in baseline.trials
        if key not in source.keys
    ]


def _trial_checks(
    measured: Mapping[str, TrialEvidence],
    baseline: Side | None,
    candidate: Side,
    spec: GateSpec,
    require_baseline: bool,
) -> list[Check]:
    checks = []
    env_base = baseline.environment if baseline else {}
    for key, ev in measured.items():
        if ev.error:  # its confirmation failed
            checks.append(Check(key, "speedup", "ERROR", ev.error))
            continue
        base = baseline.trials.get(key) if baseline else None
        diffs = differences(env_base, candidate.environment, ev.device) if baseline else []
        check = _speedup_check(ev, base, spec, diffs)
        if base is None and baseline is not None and require_baseline:
            check = Check(key, "speedup", "ERROR", "no baseline for this trial", check.numbers)
        checks.append(check)
    return checks


def decide(
    source: TrialSource,
    candidate: Side,
    baseline: Side | None,
    spec: GateSpec,
    *,
    require_baseline: bool = False,
) -> list[Check]:
    """Every check of the gate: the baseline's presence, each trial's speedup (measured here,
    in key order), the suite, required trials missing from the candidate, accuracy."""
    measured, errors = _measure(source, baseline, spec)
    if baseline is None:
        verdict: rules.Verdict = "ERROR" if require_baseline else "WARN"
        missing = Check("baseline", "baseline", verdict, "no baseline given or found")
        return [missing, *errors, *_trial_checks(measured, None, candidate, spec, False)]
    env_base, env_cand = baseline.environment, candidate.environment
    devices = sorted({ev.device for ev in measured.values()}) or ["cpu"]
    diffs = sorted({d for dev in devices for d in differences(env_base, env_cand, dev)})
    suite = _suite_check(source, measured, baseline, spec, diffs)  # may confirm trials
    return [
        *errors,
        *_trial_checks(measured, baseline, candidate, spec, require_baseline),
        *([suite] if suite else []),
        *_missing_trials(source, baseline),
        *accuracy_checks(candidate, baseline, spec, differences(env_base, env_cand, "cpu")),
    ]
