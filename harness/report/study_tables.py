"""The tables of a study report as DataFrames of text cells: the setups and their comparability,
dense latency per setup × runtime × shape, speedup next to the predicted speedup per method ×
ratio with setups as columns, the Amdahl split, accuracy per method × ratio, and the pruned
structures with their alignment.

Formats a `Study` into cells only; never reads files, never renders HTML or Markdown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd

from harness.report.columns import timed
from harness.report.comparability import MEANING
from harness.report.study import Study
from harness.report.table import MISSING, fmt, point_sorted
from harness.results.keys import DENSE_METHOD

log = logging.getLogger(__name__)

ROW_KEYS = ["method", "target_flops_ratio", "runtime", "batch_size", "seq_len"]
KEY_HEADERS = {
    "method": "method",
    "target_flops_ratio": "ratio",
    "runtime": "runtime",
    "batch_size": "batch",
    "seq_len": "seq",
}


def pairs_table(study: Study) -> pd.DataFrame:
    """One row per pair of setups: its class, what the class means and why it was given."""
    rows = [
        {"first": a, "second": b, "class": c.comparability, "meaning": MEANING[c.comparability]}
        | {"why": c.reason}
        for a, b, c in study.pairs
    ]
    return pd.DataFrame(rows, columns=["first", "second", "class", "meaning", "why"])


def _wide(
    rows: pd.DataFrame,
    keys: list[str],
    cells: dict[str, Callable[[pd.Series], str]],
    order: list[str],
) -> pd.DataFrame:
    """`rows` pivoted to one line per `keys` and, per setup (in study order), one column per
    entry of `cells` (`"<setup> <name>"`), each cell made by its function from the row."""
    if rows.empty:
        return pd.DataFrame(columns=[KEY_HEADERS.get(k, k) for k in keys])
    text = rows[[*keys, "setup"]].copy()
    for name, make in cells.items():
        text[name] = rows.apply(make, axis=1)
    wide = text.groupby([*keys, "setup"], sort=False)[list(cells)].last().unstack("setup")
    columns = [(name, setup) for setup in order for name in cells if (name, setup) in wide]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(columns)).fillna(MISSING)
    wide.columns = [f"{setup} {name}" for name, setup in columns]
    table = wide.reset_index()
    if "method" in keys:
        then = [k for k in keys if k not in ("method", "target_flops_ratio")]
        table = point_sorted(table, then=then)
        table["target_flops_ratio"] = table["target_flops_ratio"].map("{:.2f}".format)
    return table.rename(columns=KEY_HEADERS).reset_index(drop=True)


def _median_cell(row: pd.Series) -> str:
    ci = f" [{fmt(row['latency_ci95_low_ms'], '.2f')}, {fmt(row['latency_ci95_high_ms'], '.2f')}]"
    return f"{fmt(row['latency_median_ms'], '.2f')}{ci} n={fmt(row.get('latency_count'), 'd')}"


def _order(study: Study) -> list[str]:
    return [s.label for s in study.setups]


def dense_table(study: Study) -> pd.DataFrame:
    """Dense median latency (ms) with its 95% CI and sample count, per runtime × shape (rows)
    and setup (columns). Absolute: it compares only between class-A setups."""
    rows = study.rows[timed(study.rows) & study.rows["method"].eq(DENSE_METHOD)]
    rows = rows.assign(latency_count=pd.to_numeric(rows.get("latency_count")).astype("Int64"))
    keys = ["runtime", "batch_size", "seq_len"]
    return _wide(rows.sort_values(keys), keys, {"dense ms [95% CI]": _median_cell}, _order(study))


def _speedup_cell(row: pd.Series) -> str:
    low, high = row["speedup_ci95_low"], row["speedup_ci95_high"]
    ci = f" [{low:.2f}, {high:.2f}]" if pd.notna(low) and pd.notna(high) else ""
    return f"{fmt(row['speedup_vs_dense'], '.2f')}x{ci}"


SPEEDUP_CELLS: dict[str, Callable[[pd.Series], str]] = {
    "measured": _speedup_cell,
    "predicted": lambda row: f"{fmt(row['predicted_speedup'], '.2f')}x",
    "efficiency": lambda row: fmt(row["efficiency"], ".0%"),
    "Amdahl": lambda row: f"{fmt(row['amdahl_speedup'], '.2f')}x",
}


def speedup_table(study: Study) -> pd.DataFrame:
    """Measured speedup vs the same setup's dense (95% CI), the speedup the structure predicts
    at the timed seq (1/kept FLOPs there), efficiency measured/predicted and the Amdahl
    speedup, per method × ratio × runtime × shape (rows) and setup (columns)."""
    rows = study.rows
    rows = rows[timed(rows) & rows["method"].ne(DENSE_METHOD) & rows["speedup_vs_dense"].notna()]
    return _wide(rows, ROW_KEYS, SPEEDUP_CELLS, _order(study))


def amdahl_table(study: Study) -> pd.DataFrame:
    """Per setup × runtime × shape: the dense median, and the fitted share of it that pruning
    does not shrink (fixed) vs what shrinks with kept FLOPs (heads and neurons)."""
    rows = study.rows[timed(study.rows)]
    groups = ["setup", "runtime", "batch_size", "seq_len"]
    dense = rows[rows["method"].eq(DENSE_METHOD)].groupby(groups)["latency_median_ms"].last()
    pruned = rows[rows["method"].ne(DENSE_METHOD) & rows["amdahl_fixed_share"].notna()]
    fits = pruned.groupby(groups).agg(
        share=("amdahl_fixed_share", "first"),
        points=("method", "size"),
        worst=("efficiency", "min"),
    )
    table = fits.join(dense.rename("dense_ms"), how="left").reset_index()
    order = {label: i for i, label in enumerate(_order(study))}
    table = table.sort_values(
        ["setup", "runtime", "batch_size", "seq_len"],
        key=lambda c: c.map(order) if c.name == "setup" else c,
    )
    return pd.DataFrame(
        {
            "setup": table["setup"],
            "runtime": table["runtime"],
            "batch": table["batch_size"],
            "seq": table["seq_len"],
            "dense ms": table["dense_ms"].map(lambda v: fmt(v, ".2f")),
            "fixed share": table["share"].map(lambda v: fmt(v, ".1%")),
            "fixed ms": (table["share"] * table["dense_ms"]).map(lambda v: fmt(v, ".2f")),
            "shrinkable ms": ((1 - table["share"]) * table["dense_ms"]).map(
                lambda v: fmt(v, ".2f")
            ),
            "pruned points fitted": table["points"].astype(str),
            "lowest efficiency": table["worst"].map(lambda v: fmt(v, ".0%")),
        }
    ).reset_index(drop=True)
