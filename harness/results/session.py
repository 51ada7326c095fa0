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
from harness.results.atomic_files import remove_stale_temps
from harness.results.keys import DENSE_METHOD, measurement_key, record_point_key
from harness.results.lock import ResultsLock
from harness.results.lock import acquire as acquire_lock
from harness.results.records import (
    BenchmarkRun,
    Measurement,
    PrunePoint,
    read_run,
    save_run,
    write_run,
)
from harness.results.resume_check import config_differences

log = logging.getLogger(__name__)


def latest_run_file(out_dir: Path, machine: str, name: str) -> Path | None:
    """The highest-numbered results file of config `name` in `out_dir/<machine>/` that holds
    any record (a file left by a start that failed before its first point is passed over)."""
    folder = Path(out_dir) / machine
    candidates = sorted(folder.glob(f"[0-9][0-9][0-9][0-9]_*_{name}.json"), reverse=True)
    for path in candidates:
        run = read_run(path)  # a corrupt file raises, naming itself and the way out
        if run.config.get("name") != name:
            continue
        if run.points or run.measurements:
            return path
        log.info("passing over %s: it holds no points (a failed start)", path)
    return None


def _new_run(
    current: dict[str, Any], out_dir: Path, environment: dict[str, Any]
) -> tuple[Path, BenchmarkRun, ResultsLock]:
    run = BenchmarkRun(config=current, environment=environment)
    path = write_run(run, out_dir)
    return path, run, acquire_lock(path)  # no resume takes a file without records first


def _resume(
    found: Path, current: dict[str, Any], environment: dict[str, Any]
) -> tuple[BenchmarkRun, ResultsLock]:
    lock = acquire_lock(found)  # before reading: a writer that just let go has stored all
    try:
        run = read_run(found)
        differences = config_differences(run.config, current)
        if differences:
            raise ConfigError(
                f"cannot resume {found}: the config differs in {', '.join(differences)}, and "
                "the stored rows were measured with the stored values; resume with the stored "
                "settings, or run without --resume to start a new results file"
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
        save_run(run, found)
    except BaseException:
        lock.release()
        raise
    log.info(
        "resuming %s: %d points, %d measurements stored",
        found,
        len(run.points),
        len(run.measurements),
    )
    return run, lock


def _remove_run_files(path: Path) -> None:
    for stale in (path, path.with_suffix(".csv")):
        stale.unlink(missing_ok=True)


def _resume_note(environment: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("commit", "dirty", "load_average", "collected_utc")
    return {k: environment.get(k) for k in keys if k in environment}


def finished_keys(run: BenchmarkRun) -> set[str]:
    """Trial keys measured without error at points that finished without error."""
    failed_points = {record_point_key(p) for p in run.points if p.error}
    return {
        measurement_key(m)
        for m in run.measurements
        if m.error is None and record_point_key(m) not in failed_points
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
    key = record_point_key(point)
    points = [p for p in run.points if record_point_key(p) != key]
    rows = [m for m in run.measurements if measurement_key(m) not in replaced]
    updated = dataclasses.replace(run, points=[*points, point], measurements=[*rows, *new_rows])
    save_run(updated, path)
    return updated


@dataclass
class RunSession:
    """The open results file of one sweep, the run as last stored in it, and its lock.

    As a context manager it releases the lock on exit; a file this session created is removed
    again when the sweep fails before storing anything (it would only mislead `--resume`).
    """

    path: Path
    run: BenchmarkRun
    lock: ResultsLock | None = None
    created: bool = False

    @classmethod
    def open(
        cls, config: Mapping[str, Any], out_dir: Path, environment: dict[str, Any], resume: bool
    ) -> RunSession:
        """The latest run of this config holding records when resuming (its config must not
        differ in a setting that changes measurements), else a new file; locked until closed,
        so that a second writer of the same file fails at once, naming this one. `config` is
        the resolved config as plain data (what the run file embeds)."""
        current = dict(config)
        name, machine = str(current["name"]), str(environment["machine_id"])
        remove_stale_temps(Path(out_dir) / machine)
        found = latest_run_file(out_dir, machine, name) if resume else None
        if found is None:
            if resume:
                log.info("nothing to resume for %s in %s; starting a new run", name, out_dir)
            path, run, lock = _new_run(current, out_dir, environment)
            return cls(path, run, lock, created=True)
        run, lock = _resume(found, current, environment)
        return cls(found, run, lock)

    def finished_keys(self) -> set[str]:
        return finished_keys(self.run)

    def dense_samples(self) -> dict[str, list[float]]:
        return dense_samples(self.run)

    def store_point(self, point: PrunePoint, measurements: Iterable[Measurement]) -> None:
        self.run = store_point(self.path, self.run, point, measurements)

    def close(self, failed: bool = False) -> None:
        """Release the lock; after a failure, drop a file this session created and never filled."""
        try:
            if failed and self.created and not (self.run.points or self.run.measurements):
                _remove_run_files(self.path)
                log.info("removed %s: the sweep stopped before its first point", self.path)
        except OSError as error:  # the error that stopped the sweep is the one to report
            log.warning("could not remove the empty results file %s (%s)", self.path, error)
        finally:
            if self.lock is not None:
                self.lock.release()

    def __enter__(self) -> RunSession:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.close(failed=exc_type is not None)
