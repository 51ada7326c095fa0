"""The columns report reads from a `harness.results.frame` DataFrame, made present and typed:
a frame only has `latency_*` columns when some row was timed, and a column whose every value
is None is not numeric, so tables and figures would otherwise fail on error-only or
latency-only runs.

Shapes frames; never reads files, never formats or draws.
"""

from __future__ import annotations

import logging

import pandas as pd

from harness.results.keys import DENSE_METHOD

log = logging.getLogger(__name__)

TEXT_COLUMNS = (
    "run_id",
    "trial_key",
    "method",
    "backend",
    "variant",
    "device",
    "dtype",
    "metric_name",
    "error",
)
NUMBER_COLUMNS = (
    "target_flops_ratio",
    "achieved_flops_ratio",
    "latency_median_ms",
    "latency_ci95_low_ms",
    "latency_ci95_high_ms",
    "speedup_vs_dense",
    "speedup_ci95_low",
    "speedup_ci95_high",
    "ideal_speedup",
    "metric_value",
)
COUNT_COLUMNS = ("batch_size", "seq_len")
"""Whole numbers, kept whole (nullable) even beside a run without rows, so they print `8`."""


def prepared(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a measurements frame with every report column present: text columns as
    objects (None when absent), number columns as floats (NaN when absent or None), counts
    as nullable integers."""
    out = frame.copy()
    for name in TEXT_COLUMNS:
        column = out[name] if name in out else pd.Series(None, index=out.index)
        out[name] = column.astype(object).where(column.notna(), None)
    for name in NUMBER_COLUMNS:
        out[name] = pd.to_numeric(out[name]) if name in out else float("nan")
    for name in COUNT_COLUMNS:
        values = out[name] if name in out else pd.Series(pd.NA, index=out.index)
        out[name] = pd.to_numeric(values).astype("Int64")
    return out


def timed(frame: pd.DataFrame) -> pd.Series:
    """Rows with a latency to show: no error and a median (error rows are left out of
    figures and shown as `error` in tables)."""
    return frame["error"].isna() & frame["latency_median_ms"].notna()


def with_dense_in_every_method(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with a `series` column naming the method line a row is drawn on: a pruned row
    on its own method's, the dense row once on every method's (each curve starts from the
    unpruned model). With no pruned method, the dense rows form a `dense` series."""
    pruned = frame[frame["method"].ne(DENSE_METHOD)].assign(series=lambda f: f["method"])
    dense = frame[frame["method"].eq(DENSE_METHOD)]
    methods = sorted(pruned["method"].unique()) or [DENSE_METHOD]
    owners = pd.DataFrame({"series": methods})
    return pd.concat([pruned, dense.merge(owners, how="cross")], ignore_index=True)
