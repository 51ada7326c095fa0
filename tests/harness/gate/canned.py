"""Canned gate inputs: a trial source that hands out fixed estimates, and fingerprints."""

from __future__ import annotations

import dataclasses
import math

from harness.gate.evidence import PointEvidence, Side, TrialEvidence
from harness.gate.paired import PairedEstimate

CPU_ENV = {
    "cpu_model": "Test CPU",
    "logical_cores": 2,
    "versions": {"torch": "2.0", "onnxruntime": "1.0", "transformers": "5.0", "onnx": "1.0"},
}
KEY_A = "kprune@0.5|torch/eager/cpu/float32|b1|s64"
KEY_B = "kprune@0.3|torch/eager/cpu/float32|b1|s64"


def estimate(speedup: float, half_width: float = 0.02, rounds: int = 10) -> PairedEstimate:
    """An estimate whose CI is speedup x (1 +/- half_width), with matching log-ratios."""
    logs = tuple(math.log(speedup) + d for d in (-0.01, 0.0, 0.01) * (rounds // 3 + 1))[:rounds]
    return PairedEstimate(
        speedup, speedup * (1 - half_width), speedup * (1 + half_width), 0.99, rounds, logs
    )


class CannedTrials:
    """Hands out `first[key]`, then `again[key]` when confirmed; counts the confirmations."""

    remeasurable = True

    def __init__(self, first: dict[str, PairedEstimate], again: dict[str, PairedEstimate]):
        self.first_estimates, self.again = first, again
        self.confirmed: list[str] = []

    @property
    def keys(self) -> list[str]:
        return list(self.first_estimates)

    def first(self, key: str) -> TrialEvidence:
        return TrialEvidence(key, "cpu", self.first_estimates[key], None, 4.0, 2.0)

    def confirm(self, evidence: TrialEvidence) -> TrialEvidence:
        self.confirmed.append(evidence.key)
        return dataclasses.replace(evidence, confirm=self.again[evidence.key])


def side(speedups: dict[str, float], env=None, metrics=None) -> Side:
    trials = {k: TrialEvidence(k, "cpu", estimate(v)) for k, v in speedups.items()}
    points = {k: PointEvidence(k, "accuracy", v) for k, v in (metrics or {}).items()}
    return Side("baseline.json", env or CPU_ENV, trials, points)
