"""A hardware comparison study: stored runs loaded, split into setups (one run's rows on one
device), each setup fingerprinted, every pair of setups classed (A/B/C), and every timed row
given its runtime label, the kept FLOPs ratio at its own seq, the predicted speedup, the
efficiency measured/predicted and the Amdahl split.

Reads results files only (an unreadable one is named and skipped); never measures, never
renders (`study_tables`, `study_figures`, `html`, `markdown` do).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import UsageError
from harness.report.columns import prepared, timed
from harness.report.comparability import Comparison, Fingerprint, classify, fingerprint_of
from harness.report.predicted import (
    EncoderDims,
    amdahl_fixed_share,
    amdahl_speedup,
    infer_dims,
    kept_ratio_at,
)
from harness.report.table import runtime_column
from harness.results.devices import row_environment
from harness.results.frame import measurements_frame, points_frame, read_runs_from
from harness.results.keys import DENSE_METHOD, point_key
from harness.results.records import BenchmarkRun, ResultsFileError

log = logging.getLogger(__name__)

SHAPE_GROUP = ["setup", "runtime", "batch_size", "seq_len"]
"""What one Amdahl fit covers: one setup, one runtime, one timed shape."""


@dataclass(frozen=True)
class Setup:
    """One run's rows on one device (and one fingerprint, for a merged run)."""

    label: str  # "R1", or "R1 cuda" when the run timed several devices
    run_label: str  # "R1"
    path: Path
    run: BenchmarkRun
    device: str
    fingerprint_key: str | None
    environment: dict[str, Any]
    fingerprint: Fingerprint


@dataclass(frozen=True)
class Study:
    setups: list[Setup]
    pairs: list[tuple[str, str, Comparison]]
    rows: pd.DataFrame  # prepared measurements + setup, runtime and the predicted columns
    points: pd.DataFrame  # points + run_label
    dims: dict[str, EncoderDims | None]  # run label -> encoder widths (None: unknown)
    skipped: list[ResultsFileError] = field(default_factory=list)


def _setups(runs: list[tuple[Path, BenchmarkRun]]) -> list[Setup]:
    setups = []
    for number, (path, run) in enumerate(runs, start=1):
        keys = sorted({(m.device, m.fingerprint or "") for m in run.measurements})
        for device, key in keys:
            same = [m for m in run.measurements if (m.device, m.fingerprint or "") == (device, key)]
            environment = dict(row_environment(run, same[0]))
            label = f"R{number}" + (f" {device}" if len(keys) > 1 else "")
            label += f" {key[:8]}" if len({k for _, k in keys}) > 1 else ""
            threads = [m.threads for m in same]
            fingerprint = fingerprint_of(environment, device, threads)
            setups.append(
                Setup(label, f"R{number}", path, run, device, key or None, environment, fingerprint)
            )
    return setups


def _setup_column(rows: pd.DataFrame, setups: list[Setup]) -> pd.Series:
    by_key = {(str(s.path), s.device, s.fingerprint_key or ""): s.label for s in setups}
    fingerprints = [key if isinstance(key, str) else "" for key in rows["fingerprint"]]
    keys = zip(rows["run_file"], rows["device"], fingerprints, strict=True)
    return pd.Series([by_key[k] for k in keys], index=rows.index, dtype=object)


def _structures(points: pd.DataFrame) -> dict[tuple[str, str], tuple[list[int], list[int]]]:
    ok = points[points["error"].isna()]
    return {
        (p.run_label, p.point_key): (list(p.heads_per_layer), list(p.neurons_per_layer))
        for p in ok.itertuples(index=False)
    }


Dims = dict[str, EncoderDims | None]


def _kept_at_seq(study_rows: pd.DataFrame, points: pd.DataFrame, dims: Dims) -> pd.Series:
    """Kept FLOPs ratio of each row's structure at the row's own seq (NaN: not computable)."""
    structures, dense_key = _structures(points), point_key(DENSE_METHOD, 1.0)
    values: list[float | None] = []
    for row in study_rows.itertuples(index=False):
        dense = structures.get((row.run_label, dense_key))
        mine = structures.get((row.run_label, row.point_key))
        run_dims = dims.get(row.run_label)
        if dense is None or mine is None or run_dims is None or pd.isna(row.seq_len):
            values.append(None)
            continue
        values.append(kept_ratio_at(mine, dense, int(row.seq_len), run_dims))
    return pd.Series(values, index=study_rows.index, dtype=float)


def _with_predictions(rows: pd.DataFrame, points: pd.DataFrame, dims: Dims) -> pd.DataFrame:
    rows = rows.assign(kept_ratio_at_seq=_kept_at_seq(rows, points, dims))
    rows["predicted_speedup"] = 1.0 / rows["kept_ratio_at_seq"]
    rows["efficiency"] = rows["speedup_vs_dense"] / rows["predicted_speedup"]
    pruned = timed(rows) & rows["method"].ne(DENSE_METHOD) & rows["speedup_vs_dense"].notna()
    shares = {
        key: amdahl_fixed_share(list(group["kept_ratio_at_seq"]), list(group["speedup_vs_dense"]))
        for key, group in rows[pruned & rows["kept_ratio_at_seq"].notna()].groupby(SHAPE_GROUP)
    }
    keys = zip(*(rows[c] for c in SHAPE_GROUP), strict=True)
    rows["amdahl_fixed_share"] = pd.Series(
        [shares.get(k) for k in keys], index=rows.index, dtype=float
    )
    rows["amdahl_speedup"] = [
        amdahl_speedup(f, r) if pd.notna(f) and pd.notna(r) else float("nan")
        for f, r in zip(rows["amdahl_fixed_share"], rows["kept_ratio_at_seq"], strict=True)
    ]
    return rows


def _pairs(setups: list[Setup]) -> list[tuple[str, str, Comparison]]:
    return [
        (a.label, b.label, classify(a.fingerprint, b.fingerprint))
        for a, b in itertools.combinations(setups, 2)
    ]


def build_study(paths: Iterable[Path | str]) -> Study:
    """The study of every readable run under `paths` (files or folders), in the order given;
    `UsageError` when none is readable or none has a measurement."""
    runs, skipped = read_runs_from(paths)
    runs = [(path, run) for path, run in runs if run.measurements]
    if not runs:
        named = "; ".join(str(problem) for problem in skipped) or "no results .json found"
        raise UsageError(f"no readable run with measurements under the given paths ({named})")
    setups = _setups(runs)
    labels = {str(path): f"R{n}" for n, (path, _) in enumerate(runs, start=1)}
    frame = prepared(measurements_frame(runs))
    rows = frame.assign(
        setup=_setup_column(frame, setups),
        run_label=frame["run_file"].map(labels),
        runtime=runtime_column(frame),
    )
    points = points_frame(runs)
    points = points.assign(run_label=points["run_file"].map(labels))
    dims = {label: infer_dims(points[points["run_label"].eq(label)]) for label in labels.values()}
    rows = _with_predictions(rows, points, dims)
    return Study(setups, _pairs(setups), rows, points, dims, skipped)
