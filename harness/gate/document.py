"""`gate.json`: the whole decision as one JSON document (per check: baseline, estimate, CI,
floor, tolerance, verdict, rounds, retries, fingerprint differences). Pure; no timing.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from typing import Any

from harness.gate.outcome import Check, GateOutcome

GATE_FORMAT = "kprune-bench/gate"
GATE_VERSION = 1


def _plain(value: Any) -> Any:
    """JSON-safe: a float that is not finite becomes None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def check_to_dict(check: Check) -> dict[str, Any]:
    data = dataclasses.asdict(check)
    data["numbers"] = {k: _plain(v) for k, v in check.numbers.items()}
    data["differences"] = list(check.differences)
    return data


def gate_document(outcome: GateOutcome) -> dict[str, Any]:
    """The JSON-ready gate.json document."""
    counts = {v: outcome.count(v) for v in ("PASS", "IMPROVED", "WARN", "FAIL", "ERROR")}
    return {
        "format": GATE_FORMAT,
        "version": GATE_VERSION,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "verdict": outcome.verdict,
        "exit_code": outcome.exit_code,
        "counts": counts,
        "ratchet": outcome.ratchet,
        "notes": list(outcome.notes),
        "candidate": dict(outcome.candidate),
        "baseline": None if outcome.baseline is None else dict(outcome.baseline),
        "settings": dict(outcome.settings),
        "checks": [check_to_dict(c) for c in outcome.checks],
    }
