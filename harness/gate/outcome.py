"""What the gate decided: one `Check` per trial, point and suite, and the `GateOutcome` every
output (gate.json, step summary, JUnit, github-action-benchmark) is written from. Plain data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.gate.verdict import Verdict, exit_code_of, overall

Kind = Literal["speedup", "accuracy", "suite", "baseline"]


@dataclass(frozen=True)
class Check:
    """One decided check: what (`name`, `kind`), the verdict, why, and the numbers behind it."""

    name: str
    kind: Kind
    verdict: Verdict
    reason: str
    numbers: Mapping[str, Any] = field(default_factory=dict)
    differences: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateOutcome:
    """All checks of one gate run, with where the two sides came from and the settings used."""

    checks: Sequence[Check]
    candidate: Mapping[str, Any]
    """source, commit, fingerprint of the candidate."""
    baseline: Mapping[str, Any] | None
    settings: Mapping[str, Any]
    ratchet: bool = False
    notes: Sequence[str] = ()

    @property
    def verdict(self) -> Verdict:
        return overall(c.verdict for c in self.checks)

    @property
    def exit_code(self) -> int:
        return exit_code_of([c.verdict for c in self.checks], ratchet=self.ratchet)

    def count(self, verdict: str) -> int:
        return sum(1 for c in self.checks if c.verdict == verdict)
