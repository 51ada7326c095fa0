"""The results file of a sweep in progress (a `RunSession`): open a new one or the one
`--resume` continues, find what is finished, and store each finished point at once (atomic
rewrite). Knows records and keys only; never prunes, evaluates or times.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.results.keys import DENSE_METHOD, measurement_key, point_key
from harness.results.records import (
    BenchmarkRun,
    Measurement,
    PrunePoint,
    read_run,
    save_run,
    write_run,
)

log = logging.getLogger(__name__)

SWEEP_AXES = frozenset(
    {"description", "methods", "flops_ratios", "runtimes", "batch_sizes", "seq_lens"}
)
"""Config keys a resumed sweep may change (they add or drop trials, not alter finished ones)."""


def latest_run_file(out_dir: Path, machine: str, name: str) -> Path | None:
    """The highest-numbered results file of config `name` in `out_dir/<machine>/`."""
    folder = Path(out_dir) / machine
    candidates = sorted(folder.glob(f"[0-9][0-9][0-9][0-9]_*_{name}.json"), reverse=True)
    for path in candidates:
        if read_run(path).config.get("name") == name:  # a corrupt file raises, naming itself
            return path
    return None


def config_differences(stored: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Top-level keys (other than the sweep axes) whose values differ."""
    keys = (set(stored) | set(current)) - SWEEP_AXES
    return sorted(k for k in keys if stored.get(k) != current.get(k))


def open_run(
    config: Mapping[str, Any], out_dir: Path, environment: dict[str, Any], resume: bool
) -> tuple[Path, BenchmarkRun]:
    """(path, run): the latest compatible run of this config when resuming, else a new file.
    `config` is the resolved config as plain data (what the run file embeds)."""
    current = dict(config)
    name = str(current["name"])
    machine = str(environment["machine_id"])
    found = latest_run_file(out_dir, machine, name) if resume else None
    if found is None:
        if resume:
            log.info("nothing to resume for %s in %s; starting a new run", name, out_dir)
        run = BenchmarkRun(config=current, environment=environment)
        return write_run(run, out_dir), run
    run = read_run(found)
    differences = config_differences(run.config, current)
    if differences:
        raise ConfigError(
            f"cannot resume {found}: the config differs in {', '.join(differences)}; "
            "run without --resume to start a new results file"
        )
    if run.environment.get("commit") != environment.get("commit"):
        log.warning(
            "resuming %s (commit %s) at commit %s",
            found,
            run.environment.get("commit"),
            environment.get("commit"),
        )
    resumes = [*run.environment.get("resumes", []), _resume_note(environment)]
    run = dataclasses.replace(
        run, config=current, environment={**run.environment, "resumes": resumes}
    )
    log.info(
        "resuming %s: %d points, %d measurements stored",
        found,
        len(run.points),
        len(run.measurements),
    )
    return save_run(run, found), run


def _resume_note(environment: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("commit", "dirty", "load_average", "collected_utc")
    return {k: environment.get(k) for k in keys if k in environment}


def finished_keys(run: BenchmarkRun) -> set[str]:
    """Trial keys measured without error at points that finished without error."""
    failed_points = {point_key(p.method, p.target_flops_ratio) for p in run.points if p.error}
    return {
        measurement_key(m)
        for m in run.measurements
        if m.error is None and point_key(m.method, m.target_flops_ratio) not in failed_points
    }


def dense_samples(run: BenchmarkRun) -> dict[str, list[float]]:
    """Stored raw samples of the dense trials, by trial key (for speedups of later points)."""
    return {
        measurement_key(m): list(m.samples_ms)
        for m in run.measurements
        if m.method == DENSE_METHOD and m.error is None and m.samples_ms
    }


def store_point(
    path: Path, run: BenchmarkRun, point: PrunePoint, measurements: Iterable[Measurement]
) -> BenchmarkRun:
    """`run` with `point` and its measurements replacing any older records of the same keys,
    written atomically to `path` (readers see the old file or the new one, never a mix)."""
    new_rows = list(measurements)
    replaced = {measurement_key(m) for m in new_rows}
    key = point_key(point.method, point.target_flops_ratio)
    points = [p for p in run.points if point_key(p.method, p.target_flops_ratio) != key]
    rows = [m for m in run.measurements if measurement_key(m) not in replaced]
    updated = dataclasses.replace(run, points=[*points, point], measurements=[*rows, *new_rows])
    save_run(updated, path)
    return updated


@dataclass
class RunSession:
    """The open results file of one sweep and the run as last stored in it."""

    path: Path
    run: BenchmarkRun

    @classmethod
    def open(
        cls, config: Mapping[str, Any], out_dir: Path, environment: dict[str, Any], resume: bool
    ) -> RunSession:
        path, run = open_run(config, out_dir, environment, resume)
        return cls(path, run)

    def finished_keys(self) -> set[str]:
        return finished_keys(self.run)

    def dense_samples(self) -> dict[str, list[float]]:
        return dense_samples(self.run)

    def store_point(self, point: PrunePoint, measurements: Iterable[Measurement]) -> None:
        self.run = store_point(self.path, self.run, point, measurements)
