"""Two stored runs side by side: median latency A/B, B/A, speedup vs dense A/B, metric A/B,
joined on the trial key (an outer join: a trial in one run only is kept, its other side `-`).

Built on measurements DataFrames; never measures. The regression gate is later work.
"""

from __future__ import annotations

import logging

import pandas as pd

from harness.report.columns import prepared, timed
from harness.report.table import fmt, format_table, point_sorted
from harness.results.frame import measurements_frame
from harness.results.records import BenchmarkRun

log = logging.getLogger(__name__)

MACHINE_KEYS = ("machine_id", "machine", "hostname")
TRIAL_FIELDS = ["method", "target_flops_ratio", "backend", "variant", "device", "dtype"]
TRIAL_FIELDS += ["batch_size", "seq_len"]
"""What a trial key is made of; the joined table's leading columns."""
VALUE_SPECS = {
    "ms_a": ".2f",
    "ms_b": ".2f",
    "b_over_a_ratio": ".3f",
    "speedup_a": ".2f",
    "speedup_b": ".2f",
    "metric_a": ".4f",
    "metric_b": ".4f",
}
"""The joined columns after the trial fields, in table order, with their number format."""
HEADERS = (
    *("method", "ratio", "backend", "variant", "device", "dtype", "batch", "seq"),
    *("A ms", "B ms", "B/A", "A speedup", "B speedup", "A metric", "B metric"),
)


def machine_of(run: BenchmarkRun) -> str | None:
    """The machine id recorded in a run's environment (None when absent)."""
    environment = run.environment if isinstance(run.environment, dict) else vars(run.environment)
    for key in MACHINE_KEYS:
        if environment.get(key):
            return str(environment[key])
    return None


def _side(frame: pd.DataFrame, side: str) -> pd.DataFrame:
    """trial_key + this side's values (`ms_a`, `speedup_a`, `metric_a`); failed trials have
    no median. A key seen twice keeps its last row, as a resumed run's file does."""
    rows = prepared(frame)
    values = pd.DataFrame(
        {
            "trial_key": rows["trial_key"],
            f"ms_{side}": rows["latency_median_ms"].where(timed(rows)),
            f"speedup_{side}": rows["speedup_vs_dense"],
            f"metric_{side}": rows["metric_value"],
        }
    )
    return values.drop_duplicates("trial_key", keep="last")


def join_trials(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Measurements frames A and B joined on trial_key: one row per trial in either, with
    TRIAL_FIELDS, `ms_a`/`ms_b`, `speedup_a`/`_b`, `metric_a`/`_b`, `b_over_a_ratio` and
    `present` (`both`, `left_only` = only in A, `right_only` = only in B); in point order."""
    joined = _side(a, "a").merge(_side(b, "b"), on="trial_key", how="outer", indicator="present")
    fields = pd.concat([prepared(a), prepared(b)])[["trial_key", *TRIAL_FIELDS]]
    joined = joined.merge(fields.drop_duplicates("trial_key"), on="trial_key", how="left")
    joined["present"] = joined["present"].astype(str)
    joined["b_over_a_ratio"] = (joined["ms_b"] / joined["ms_a"]).where(joined["ms_a"] != 0)
    return point_sorted(joined, then=TRIAL_FIELDS[2:]).reset_index(drop=True)


def _cells(joined: pd.DataFrame) -> list[list[str]]:
    text = {
        "method": joined["method"].astype(str),
        "ratio": joined["target_flops_ratio"].map("{:.2f}".format),
        **{name: joined[name].astype(str) for name in TRIAL_FIELDS[2:]},
    }
    for name, spec in VALUE_SPECS.items():
        text[name] = joined[name].map(lambda value, spec=spec: fmt(value, spec))
    return pd.DataFrame(text).values.tolist()


def _notes(a: BenchmarkRun, b: BenchmarkRun, joined: pd.DataFrame) -> list[str]:
    notes = [f"A: {a.run_id}", f"B: {b.run_id}"]
    machine_a, machine_b = machine_of(a), machine_of(b)
    if machine_a != machine_b:
        notes.append(
            f"note: different machines (A: {machine_a}, B: {machine_b}); "
            "compare ratios (B/A, speedups), not absolute milliseconds"
        )
    if a.config.get("name") != b.config.get("name"):
        notes.append(f"note: different configs ({a.config.get('name')} vs {b.config.get('name')})")
    only = joined["present"].value_counts()
    only_a, only_b = int(only.get("left_only", 0)), int(only.get("right_only", 0))
    if only_a or only_b:
        notes.append(f"note: {only_a} rows only in A, {only_b} rows only in B")
    return notes


def compare_runs(a: BenchmarkRun, b: BenchmarkRun) -> str:
    """The side-by-side table as text, with notes on machine and config differences."""
    joined = join_trials(measurements_frame([(None, a)]), measurements_frame([(None, b)]))
    table = format_table(HEADERS, _cells(joined)) if len(joined) else "(no rows)"
    return "\n".join([*_notes(a, b, joined), "", table])
