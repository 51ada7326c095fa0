"""Two stored runs side by side: median latency A/B, B/A, speedup vs dense A/B, metric A/B.

Reads `records.BenchmarkRun` objects only; never measures. The regression gate is later work.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from harness.report.summary import MISSING, fmt, format_table, point_order
from harness.results.keys import measurement_key

log = logging.getLogger(__name__)

MACHINE_KEYS = ("machine_id", "machine", "hostname")
HEADERS = (
    "method",
    "ratio",
    "backend",
    "variant",
    "device",
    "dtype",
    "batch",
    "seq",
    "A ms",
    "B ms",
    "B/A",
    "A speedup",
    "B speedup",
    "A metric",
    "B metric",
)


def machine_of(run: Any) -> str | None:
    """The machine id recorded in a run's environment (None when absent)."""
    environment = run.environment if isinstance(run.environment, dict) else vars(run.environment)
    for key in MACHINE_KEYS:
        if environment.get(key):
            return str(environment[key])
    return None


def _median(m: Any | None) -> float | None:
    if m is None or m.error is not None or m.latency is None:
        return None
    return float(m.latency.median_ms)


def _ratio(a: float | None, b: float | None) -> str:
    return MISSING if a is None or b is None or a == 0 else f"{b / a:.3f}"


def _row(a: Any | None, b: Any | None) -> list[str]:
    m = a if a is not None else b
    assert m is not None, "a joined row has at least one side"
    median_a, median_b = _median(a), _median(b)
    return [
        m.method,
        f"{m.target_flops_ratio:.2f}",
        m.backend,
        m.variant,
        m.device,
        m.dtype,
        str(m.batch_size),
        str(m.seq_len),
        fmt(median_a, ".2f"),
        fmt(median_b, ".2f"),
        _ratio(median_a, median_b),
        fmt(a.speedup_vs_dense if a else None, ".2f"),
        fmt(b.speedup_vs_dense if b else None, ".2f"),
        fmt(a.metric_value if a else None, ".4f"),
        fmt(b.metric_value if b else None, ".4f"),
    ]


def _sort_key(m: Any) -> tuple[Any, ...]:
    order = point_order(m.method, m.target_flops_ratio)
    return (*order, m.backend, m.variant, m.device, m.dtype, m.batch_size, m.seq_len)


def join_measurements(a: Sequence[Any], b: Sequence[Any]) -> list[tuple[Any | None, Any | None]]:
    """Pairs matched on (method, ratio, backend, variant, device, dtype, batch, seq)."""
    by_a = {measurement_key(m): m for m in a}
    by_b = {measurement_key(m): m for m in b}
    keys = sorted(set(by_a) | set(by_b), key=lambda k: _sort_key(by_a.get(k) or by_b[k]))
    return [(by_a.get(k), by_b.get(k)) for k in keys]


def compare_runs(a: Any, b: Any) -> str:
    """The side-by-side table as text, with notes on machine and config differences."""
    pairs = join_measurements(a.measurements, b.measurements)
    notes = [f"A: {a.run_id}", f"B: {b.run_id}"]
    machine_a, machine_b = machine_of(a), machine_of(b)
    if machine_a != machine_b:
        notes.append(
            f"note: different machines (A: {machine_a}, B: {machine_b}); "
            "compare ratios (B/A, speedups), not absolute milliseconds"
        )
    if a.config.get("name") != b.config.get("name"):
        notes.append(f"note: different configs ({a.config.get('name')} vs {b.config.get('name')})")
    only_a = sum(1 for x, y in pairs if y is None)
    only_b = sum(1 for x, y in pairs if x is None)
    if only_a or only_b:
        notes.append(f"note: {only_a} rows only in A, {only_b} rows only in B")
    table = format_table(HEADERS, [_row(x, y) for x, y in pairs]) if pairs else "(no rows)"
    return "\n".join([*notes, "", table])
