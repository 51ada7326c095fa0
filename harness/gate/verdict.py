"""The gate's decisions on numbers: a trial's speedup against its baseline floor, a point's
accuracy drop, the suite's geometric mean, and the exit code. Pure: no files, no timing.

FAIL needs two measures below the floor (the CI's upper bound under it in the first measure
and in the confirmation re-measure) and comparable machines; everything uncertain is a WARN.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from harness.gate.paired import PairedEstimate

Verdict = Literal["PASS", "IMPROVED", "WARN", "FAIL", "ERROR"]
SEVERITY: dict[str, int] = {"PASS": 0, "IMPROVED": 1, "WARN": 2, "ERROR": 3, "FAIL": 4}
EXIT_PASS, EXIT_REGRESSION, EXIT_MISSING = 0, 1, 3
REFRESH_HINT = "refresh the baseline with this run's gate_run.json"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str


def floor_of(baseline: float, tol_ratio: float) -> float:
    """The lowest speedup that passes: baseline x (1 - tol)."""
    return baseline * (1.0 - tol_ratio)


def needs_confirmation(first: PairedEstimate, baseline: float | None, tol_ratio: float) -> bool:
    """Whether the first measure's whole CI lies below the floor (re-measure before failing)."""
    return baseline is not None and first.high < floor_of(baseline, tol_ratio)


def _range(e: PairedEstimate) -> str:
    return f"{e.speedup:.3f}x [{e.low:.3f}, {e.high:.3f}]"


def _unconfirmed_or_fail(
    confirm: PairedEstimate | None, floor: float, incomparable: Sequence[str]
) -> Decision:
    if confirm is None:
        return Decision("WARN", f"below the floor {floor:.3f}x but not confirmed (not re-measured)")
    if confirm.high >= floor:
        if confirm.speedup >= floor:
            return Decision(
                "PASS", f"first measure below the floor; the re-measure passed: {_range(confirm)}"
            )
        return Decision("WARN", f"inconclusive: re-measure {_range(confirm)} reaches {floor:.3f}x")
    if incomparable:
        return Decision(
            "WARN",
            f"confirmed below the floor {floor:.3f}x ({_range(confirm)}) but the runs are not "
            f"comparable: {'; '.join(incomparable)}",
        )
    return Decision(
        "FAIL", f"regression confirmed: {_range(confirm)} is below the floor {floor:.3f}x twice"
    )


def speedup_decision(
    baseline: float | None,
    tol_ratio: float,
    first: PairedEstimate,
    confirm: PairedEstimate | None = None,
    incomparable: Sequence[str] = (),
) -> Decision:
    """PASS, IMPROVED, WARN or FAIL for one trial (see the module docstring)."""
    if baseline is None:
        return Decision("WARN", "no baseline for this trial")
    floor = floor_of(baseline, tol_ratio)
    if first.high < floor:
        return _unconfirmed_or_fail(confirm, floor, incomparable)
    final = confirm or first
    ceiling = baseline * (1.0 + tol_ratio)
    if final.low > ceiling:
        return Decision("IMPROVED", f"{_range(final)} is above {ceiling:.3f}x: {REFRESH_HINT}")
    if final.speedup >= floor:
        return Decision("PASS", f"{_range(final)} >= floor {floor:.3f}x")
    return Decision("WARN", f"inconclusive: {_range(final)} is below {floor:.3f}x, its CI is not")


def accuracy_decision(
    baseline: float | None,
    candidate: float | None,
    fail_points: float,
    warn_points: float,
    incomparable: Sequence[str] = (),
) -> Decision:
    """A metric drop in points (100 x the metric): FAIL past fail_points, WARN past warn_points."""
    if baseline is None:
        return Decision("WARN", "no baseline metric at the same (method, ratio, seed)")
    if candidate is None:
        return Decision("ERROR", "the candidate has no metric (not evaluated, or it failed)")
    drop = 100.0 * (baseline - candidate)
    text = f"{candidate:.4f} vs baseline {baseline:.4f} ({-drop:+.2f} points)"
    if drop > fail_points:
        if incomparable:
            return Decision("WARN", f"{text}, but not comparable: {'; '.join(incomparable)}")
        return Decision("FAIL", f"{text}: drop > {fail_points} points")
    if drop > warn_points:
        return Decision("WARN", f"{text}: drop > {warn_points} points")
    return Decision("PASS", text)


def suite_decision(
    first: PairedEstimate,
    confirm: PairedEstimate | None,
    tol_ratio: float,
    incomparable: Sequence[str] = (),
) -> Decision:
    """The geometric mean of candidate/baseline speedups against 1 - tol/2 (tol: the trials'
    mean tolerance); the same confirmation rule as a trial's."""
    return speedup_decision(1.0, tol_ratio / 2.0, first, confirm, incomparable)


def overall(verdicts: Iterable[str]) -> Verdict:
    """The worst verdict (PASS when there is nothing to judge)."""
    worst: Verdict = "PASS"
    for verdict in verdicts:
        if SEVERITY[verdict] > SEVERITY[worst]:
            worst = verdict  # type: ignore[assignment]
    return worst


def exit_code_of(verdicts: Sequence[str], *, ratchet: bool = False) -> int:
    """1 on a confirmed regression (or an improvement under --ratchet), else 3 when required
    trials are missing or errored, else 0 (PASS and WARN)."""
    if "FAIL" in verdicts or (ratchet and "IMPROVED" in verdicts):
        return EXIT_REGRESSION
    if "ERROR" in verdicts:
        return EXIT_MISSING
    return EXIT_PASS
