"""Text-table helpers shared by the summary and the comparison: fixed-width tables, number cells,
short runtime labels and the order points are listed in.

Formats frames and values into strings only; never reads files, never prints.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from harness.results.keys import DENSE_METHOD

log = logging.getLogger(__name__)

RUNTIME_FIELDS = ("backend", "variant", "device", "dtype")
MISSING = "-"


def fmt(value: Any, spec: str) -> str:
    """`value` formatted with `spec`, or MISSING for None/NaN (a frame's empty cell)."""
    return MISSING if value is None or pd.isna(value) else format(value, spec)


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


def _identities(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct runtime (the RUNTIME_FIELDS as text), sorted."""
    fields = list(RUNTIME_FIELDS)
    return frame[fields].astype(str).drop_duplicates().sort_values(fields, ignore_index=True)


def label_fields(frame: pd.DataFrame) -> list[str]:
    """The runtime fields a label names: a field is added only when it tells runtimes apart
    that the fields before it do not (`backend` on a CPU sweep; more on a GPU sweep)."""
    identities = _identities(frame)
    shown: list[str] = []
    for name in RUNTIME_FIELDS:
        before = len(identities[shown].drop_duplicates()) if shown else 1
        if len(identities[[*shown, name]].drop_duplicates()) > before:
            shown.append(name)
    return shown or [RUNTIME_FIELDS[0]]


def runtime_labels(frame: pd.DataFrame) -> dict[tuple[str, ...], str]:
    """Runtime identity (backend, variant, device, dtype) -> shortest label naming only the
    fields that vary in this frame, in identity order (`onnxruntime`, `torch` on a CPU sweep)."""
    identities, shown = _identities(frame), label_fields(frame)
    labels = identities[shown].agg("/".join, axis=1) if len(identities) else []
    return dict(zip(identities.itertuples(index=False, name=None), labels, strict=True))


def runtime_column(frame: pd.DataFrame) -> pd.Series:
    """Each row's runtime label (see `runtime_labels`), aligned with `frame`'s index."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    return frame[label_fields(frame)].astype(str).agg("/".join, axis=1)


def point_sorted(frame: pd.DataFrame, then: Sequence[str] = ()) -> pd.DataFrame:
    """`frame` in point order: dense first, then by method, larger kept ratios first; ties
    broken by the `then` columns."""
    order = frame.assign(
        _pruned=frame["method"].ne(DENSE_METHOD), _ratio_desc=-frame["target_flops_ratio"]
    )
    columns = ["_pruned", "method", "_ratio_desc", *then]
    return order.sort_values(columns, kind="stable").drop(columns=["_pruned", "_ratio_desc"])
