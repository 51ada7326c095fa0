"""The end-of-sweep summary table: per point, the metric, latency per runtime, speedup, ideal.

Pure formatting of stored `records.Measurement` rows into text; never measures, never prints.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from harness.results.keys import DENSE_METHOD

log = logging.getLogger(__name__)

RUNTIME_FIELDS = ("backend", "variant", "device", "dtype")
MISSING = "-"


def runtime_labels(measurements: Sequence[Any]) -> dict[tuple[str, ...], str]:
    """Runtime identity -> shortest label naming only the fields that vary in this run
    (`torch`, `onnxruntime` on a CPU sweep; `torch/eager/float16` on a GPU sweep)."""
    identities = sorted({runtime_identity(m) for m in measurements})
    shown: list[int] = []
    for i in range(len(RUNTIME_FIELDS)):  # add a field only when it tells runtimes apart
        distinct = len({tuple(x[j] for j in [*shown, i]) for x in identities})
        if distinct > len({tuple(x[j] for j in shown) for x in identities}):
            shown.append(i)
    shown = shown or [0]
    return {ident: "/".join(ident[i] for i in shown) for ident in identities}


def runtime_identity(measurement: Any) -> tuple[str, ...]:
    return tuple(str(getattr(measurement, name)) for name in RUNTIME_FIELDS)


def point_order(method: str, ratio: float) -> tuple[int, str, float]:
    """Dense first, then by method, larger kept ratios first."""
    return (0 if method == DENSE_METHOD else 1, method, -ratio)


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Fixed-width text table; the first column is left-aligned, the rest right-aligned."""
    body = [list(map(str, row)) for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), rule, *(line(r) for r in body)])


def fmt(value: float | None, spec: str) -> str:
    return MISSING if value is None else format(value, spec)


def _latency_cell(m: Any | None) -> str:
    if m is None:
        return MISSING
    if m.error is not None or m.latency is None:
        return "error"
    return fmt(m.latency.median_ms, ".2f")


def _speedup_cell(m: Any | None) -> str:
    if m is None or m.speedup_vs_dense is None:
        return MISSING
    low, high = m.speedup_ci95_low, m.speedup_ci95_high
    ci = f" [{low:.2f},{high:.2f}]" if low is not None and high is not None else ""
    return f"{m.speedup_vs_dense:.2f}x{ci}"


def _metric_cell(rows: Sequence[Any]) -> str:
    values = [m for m in rows if m.metric_value is not None]
    return fmt(values[0].metric_value, ".4f") if values else MISSING


def summary_table(measurements: Sequence[Any]) -> str:
    """One row per (method, ratio, batch, seq); latency (median ms) and speedup per runtime."""
    if not measurements:
        return "(no measurements)"
    labels = runtime_labels(measurements)
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for m in measurements:
        group_key = (m.method, m.target_flops_ratio, m.batch_size, m.seq_len)
        groups.setdefault(group_key, {})[labels[runtime_identity(m)]] = m
    metric_names = {m.metric_name for m in measurements if m.metric_name}
    metric_header = "/".join(sorted(metric_names)) or "metric"
    headers = ["method", "ratio", "flops", metric_header, "batch", "seq"]
    for label in labels.values():
        headers += [f"{label} ms", f"{label} speedup"]
    headers.append("ideal")
    ordered = sorted(groups.items(), key=lambda kv: (point_order(kv[0][0], kv[0][1]), kv[0][2:]))
    return format_table(headers, [_row(key, by_label, labels) for key, by_label in ordered])


def _row(key: tuple[Any, ...], by_label: dict[str, Any], labels: dict[Any, str]) -> list[str]:
    method, ratio, batch, seq = key
    rows = list(by_label.values())
    achieved = next((m.achieved_flops_ratio for m in rows if m.achieved_flops_ratio), None)
    ideal = next((m.ideal_speedup for m in rows if m.ideal_speedup), None)
    cells = [method, f"{ratio:.2f}", fmt(achieved, ".3f"), _metric_cell(rows), str(batch), str(seq)]
    for label in labels.values():
        m = by_label.get(label)
        cells += [_latency_cell(m), _speedup_cell(m)]
    cells.append(MISSING if ideal is None else f"{ideal:.2f}x")
    return cells
