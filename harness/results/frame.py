"""Stored runs as pandas DataFrames: one row per measurement (or per prune point), with the run's
config and environment fingerprint flattened into `config.*` / `env.*` columns.

What `report/` builds tables, comparisons and figures on. Reads results files only; a corrupt file
is named in a warning and skipped, never fatal to the others.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import UsageError
from harness.results.keys import measurement_key, record_point_key
from harness.results.records import BenchmarkRun, ResultsFileError, read_run

log = logging.getLogger(__name__)

RUN_COLUMNS = ("run_id", "run_file", "config_name", "machine_id", "commit", "dirty")


def run_files(paths: Iterable[Path | str]) -> list[Path]:
    """Results .json files named directly or found under folders (artifacts folders skipped)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("[0-9]*_*.json") if not p.name.startswith("."))
            files += [p for p in found if "bench_artifacts" not in p.parts]
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"results path {str(path)!r} does not exist; name a file or folder")
    return files


def read_runs_from(
    paths: Iterable[Path | str],
) -> tuple[list[tuple[Path, BenchmarkRun]], list[ResultsFileError]]:
    """Every readable run under `paths`; unreadable files are reported, and the rest still load."""
    runs, errors = [], []
    for path in run_files(paths):
        try:
            runs.append((path, read_run(path)))
        except ResultsFileError as problem:
            log.warning("skipped: %s", problem)
            errors.append(problem)
    return runs, errors


def flatten(prefix: str, value: Any) -> dict[str, Any]:
    """Nested mappings -> `prefix.a.b` scalar columns; lists are kept as they are."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(f"{prefix}.{key}", item))
        return out
    return {prefix: value}


def run_context(run: BenchmarkRun, path: Path | None = None) -> dict[str, Any]:
    """The columns every row of `run` carries: ids, then flattened config and environment."""
    env = run.environment
    return {
        "run_id": run.run_id,
        "run_file": str(path) if path else None,
        "config_name": run.config.get("name"),
        "machine_id": env.get("machine_id"),
        "commit": env.get("commit"),
        "dirty": env.get("dirty"),
        **flatten("config", run.config),
        **flatten("env", {k: v for k, v in env.items() if k != "fingerprints"}),
    }


def _own_columns(fingerprint: Mapping[str, Any]) -> dict[str, Any]:
    """A row's own machine and `env.*` columns (rows of a merged run, or timed by Ray)."""
    return {"machine_id": fingerprint.get("machine_id"), **flatten("env", fingerprint)}


def measurements_frame(runs: Sequence[tuple[Path | None, BenchmarkRun]]) -> pd.DataFrame:
    """One row per measurement: its fields (latency stats as `latency_*`), key and run context."""
    rows = []
    for path, run in runs:
        context = run_context(run, path)
        fingerprints = run.environment.get("fingerprints") or {}
        for m in run.measurements:
            fields = dataclasses.asdict(m)
            latency = fields.pop("latency") or {}
            own = fingerprints.get(m.fingerprint) if m.fingerprint else None
            rows.append(
                {
                    **context,
                    # a merged or Ray row: the env.* columns of the process that timed it
                    **(_own_columns(own) if own is not None else {}),
                    **fields,
                    **{f"latency_{k}": v for k, v in latency.items()},
                    "trial_key": measurement_key(m),
                    "point_key": record_point_key(m),
                }
            )
    return pd.DataFrame(rows)


def points_frame(runs: Sequence[tuple[Path | None, BenchmarkRun]]) -> pd.DataFrame:
    """One row per prune point (what it kept and scored) with the run's ids."""
    rows = []
    for path, run in runs:
        ids = {k: v for k, v in run_context(run, path).items() if k in RUN_COLUMNS}
        for p in run.points:
            key = record_point_key(p)
            rows.append({**ids, **dataclasses.asdict(p), "point_key": key})
    return pd.DataFrame(rows)


def load(paths: Iterable[Path | str]) -> pd.DataFrame:
    """Measurements of every readable run under `paths` (files or folders) as one DataFrame."""
    runs, _ = read_runs_from(paths)
    return measurements_frame([(path, run) for path, run in runs])
