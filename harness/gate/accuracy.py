"""Accuracy checks: each point's task metric against the baseline's at the same (method, ratio,
seed), in points (100 x the metric). Pure; the metric itself is the sweep's.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.config.gate_spec import GateSpec
from harness.gate import verdict as rules
from harness.gate.evidence import Side
from harness.gate.outcome import Check


def accuracy_checks(
    candidate: Side, baseline: Side, spec: GateSpec, diffs: Sequence[str]
) -> list[Check]:
    """One check per point key either side has; a baseline point missing here is an ERROR."""
    checks = []
    for key in sorted(set(candidate.points) | set(baseline.points)):
        cand, base = candidate.points.get(key), baseline.points.get(key)
        if cand is None:
            checks.append(Check(key, "accuracy", "ERROR", "in the baseline, missing here"))
            continue
        if cand.error:
            checks.append(Check(key, "accuracy", "ERROR", f"the point failed: {cand.error}"))
            continue
        base_value = base.metric_value if base is not None and not base.error else None
        decision = rules.accuracy_decision(
            base_value,
            cand.metric_value,
            spec.accuracy_fail_points,
            spec.accuracy_warn_points,
            diffs,
        )
        numbers = {
            "metric": cand.metric_name,
            "baseline": base_value,
            "candidate": cand.metric_value,
            "drop_points": None
            if base_value is None or cand.metric_value is None
            else 100.0 * (base_value - cand.metric_value),
        }
        checks.append(
            Check(key, "accuracy", decision.verdict, decision.reason, numbers, tuple(diffs))
        )
    return checks
