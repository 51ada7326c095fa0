"""github-action-benchmark input for history charts: "customBiggerIsBetter" (each trial's
speedup over dense) and "customSmallerIsBetter" (each trial's pruned and dense p50 in ms).
Pure: lists of {name, unit, value, range, extra}.
"""

from __future__ import annotations

from typing import Any

from harness.gate.outcome import GateOutcome


def _speedup_checks(outcome: GateOutcome) -> list[Any]:
    return [c for c in outcome.checks if c.kind == "speedup" and c.numbers.get("estimate")]


def speedup_entries(outcome: GateOutcome) -> list[dict[str, Any]]:
    """customBiggerIsBetter: `<trial> speedup` in x, with the CI as the range."""
    entries = []
    for check in _speedup_checks(outcome):
        n = check.numbers
        entries.append(
            {
                "name": f"{check.name} speedup",
                "unit": "x",
                "value": round(float(n["estimate"]), 4),
                "range": f"{n['ci_low']:.4f}..{n['ci_high']:.4f}",
                "extra": f"{check.verdict}; {n.get('rounds')} rounds; {check.reason}",
            }
        )
    return entries


def latency_entries(outcome: GateOutcome) -> list[dict[str, Any]]:
    """customSmallerIsBetter: `<trial> pruned p50` and `<trial> dense p50` in ms."""
    entries = []
    for check in _speedup_checks(outcome):
        for arm in ("pruned", "dense"):
            value = check.numbers.get(f"{arm}_p50_ms")
            if value is not None:
                entries.append(
                    {"name": f"{check.name} {arm} p50", "unit": "ms", "value": round(value, 4)}
                )
    return entries
