"""The sweep: for each (method, kept-FLOPs ratio) point, prune once -> export -> evaluate -> time
every runtime -> store the finished point at once (resumable). The only module that imports the
rest of `sweep/`; it owns the loop, the error policy and the results-file session.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from harness.config.load import config_to_dict
from harness.config.schema import BenchmarkConfig
from harness.errors import HarnessError, MeasuredFailure, is_usage_error
from harness.results.atomic_files import storage_cause, storage_error
from harness.results.devices import check_resume_devices
from harness.results.environment import collect_environment
from harness.results.keys import DENSE_METHOD, point_key
from harness.results.records import BenchmarkRun, Measurement, PrunePoint
from harness.results.session import RunSession
from harness.sweep import executors, rows
from harness.sweep.devices import timing_devices
from harness.sweep.plan import artifacts_needed, expand_trials, trials_by_point
from harness.sweep.preflight import preflight
from harness.sweep.shards import Shard, shard_config, shard_record
from harness.sweep.steps import steps_for
from harness.sweep.types import Inputs, Point, Subject, Trial

log = logging.getLogger(__name__)

PointHook = Callable[[PrunePoint], None]
FinishedPoint = tuple[PrunePoint, list[Measurement]]


class SweepError(MeasuredFailure):
    """A point of the sweep failed (default: stop at once); earlier points stay stored."""


def _seed_and_record(config: BenchmarkConfig) -> dict[str, Any]:
    """Seed every RNG once for the sweep; return the environment with what was set."""
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    environment = collect_environment()
    environment["sweep_settings"] = {"seed": config.seed, "torch_threads": torch.get_num_threads()}
    environment["timing_devices"] = timing_devices(config, environment)
    return environment


def artifacts_root(out_dir: Path | str, artifacts_dir: Path | str | None) -> Path:
    """Where ONNX files, manifests and pruning logs go: `artifacts_dir`, else bench_artifacts/
    beside the results folder (never inside it)."""
    return Path(artifacts_dir) if artifacts_dir else Path(out_dir).parent / "bench_artifacts"


def preflight_sweep(
    config: BenchmarkConfig, out_dir: Path | str, artifacts_dir: Path | str | None = None
) -> list[str]:
    """The preflight of a sweep writing to `out_dir`; what `--dry-run` shows."""
    folders = {
        "results folder (--out)": Path(out_dir),
        "artifacts folder (--artifacts)": artifacts_root(out_dir, artifacts_dir),
    }
    return preflight(config, folders)


@contextlib.contextmanager
def _storage_errors(folders: str) -> Iterator[None]:
    """A full, read-only or forbidden folder: one message naming the file and the way out."""
    try:
        yield
    except Exception as error:
        cause = storage_cause(error)
        if cause is None:
            raise
        then = "rerun the same command with --resume: every point finished so far is stored"
        raise storage_error(cause, then, folders) from error


def run_benchmark(
    config: BenchmarkConfig,
    out_dir: Path | str,
    *,
    resume: bool = False,
    keep_going: bool = False,
    progress: bool = True,
    on_point_done: PointHook | None = None,
    artifacts_dir: Path | str | None = None,
    shard: Shard | None = None,
    executor: str = executors.DEFAULT,
) -> BenchmarkRun:
    """Run (or continue) the sweep; every finished point is in the results file at once.

    `keep_going` records a failing point's error and goes on; otherwise the first failure
    raises (usage errors as they are, others as `SweepError`; finished points stay stored).
    Artifacts (ONNX, manifests, pruning logs) go to `artifacts_dir` (default:
    `<out_dir>/../bench_artifacts`), never into out_dir. `shard` runs only its points, in its
    own run file (see `sweep.shards`); `executor` names who runs the points (`sweep.executors`).
    """
    out = Path(out_dir)
    executors.check(executor, config)
    preflight_sweep(config, out, artifacts_dir)  # before any file is opened or model trained
    environment = _seed_and_record(config)
    if shard is not None:
        environment["shard"] = shard_record(config, shard)
        config = shard_config(config, shard)
    with _storage_errors(f"{out} or {artifacts_root(out, artifacts_dir)}"):
        # locked until the sweep ends; a new file is removed again if no point was stored
        session = RunSession.open(config_to_dict(config), out, environment, resume)
        with session, _progress_logging(progress):
            check_resume_devices(session.run.environment, environment, session.path)
            artifacts = artifacts_root(out, artifacts_dir)
            artifacts = artifacts / session.run.environment["machine_id"] / session.path.stem
            log.info("results: %s; artifacts: %s", session.path, artifacts)
            sweep = _Sweep(config, session, artifacts, keep_going, progress)
            sweep.points = None if shard is None else frozenset(shard.points)
            sweep.executor = executor
            sweep.run(on_point_done)
    return session.run


@contextlib.contextmanager
def _progress_logging(progress: bool) -> Iterator[None]:
    if not progress:
        yield
        return
    with logging_redirect_tqdm():
        yield


class _Sweep:
    """One sweep's loop over its pending points, with the dense reference built once."""

    def __init__(
        self,
        config: BenchmarkConfig,
        session: RunSession,
        artifacts: Path,
        keep_going: bool,
        progress: bool,
    ) -> None:
        self.config, self.session, self.artifacts = config, session, artifacts
        self.keep_going, self.progress = keep_going, progress
        self.dense: Subject | None = None  # the dense point's subject, timed beside pruned ones
        self.points: frozenset[Point] | None = None  # a shard's points (None: every point)
        self.executor = executors.DEFAULT
        self.steps = steps_for(config)  # encoder or decoder (language_model) stage functions

    def run(self, on_point_done: PointHook | None) -> None:
        pending = self._pending()
        if not pending:
            return
        finished = self._execute(pending)
        # closed at once on any error, so a remote executor cancels its tasks right away
        with contextlib.closing(finished):
            self._store_each(finished, on_point_done)

    def _store_each(
        self, finished: Iterator[FinishedPoint], on_point_done: PointHook | None
    ) -> None:
        for record, measurements in finished:
            self.session.store_point(record, measurements)
            key = point_key(record.method, record.target_flops_ratio, record.seed)
            log.info("stored %s (%d measurements)", key, len(measurements))
            if on_point_done is not None:
                on_point_done(record)

    def _execute(self, pending: dict[Point, list[Trial]]) -> Generator[FinishedPoint, None, None]:
        """Finished points as they finish: here, one by one, or from another executor."""
        if self.executor == executors.DEFAULT:
            return self._local(pending)
        return self._remote(pending)

    def _remote(self, pending: dict[Point, list[Trial]]) -> Generator[FinishedPoint, None, None]:
        options = dict(keep_going=self.keep_going, progress=self.progress)
        outcomes = executors.run(
            self.executor, self.config, self.session, pending, self.artifacts, **options
        )
        with contextlib.closing(outcomes):
            for point, trials, outcome in outcomes:
                yield (
                    outcome if isinstance(outcome, tuple) else self._failed(point, trials, outcome)
                )

    def _local(self, pending: dict[Point, list[Trial]]) -> Generator[FinishedPoint, None, None]:
        inputs: Inputs | None = None
        bar = tqdm(pending.items(), desc="points", unit="point", disable=not self.progress)
        for point, trials in bar:
            if inputs is None or inputs.seed != point.seed:  # a seed's points are contiguous
                inputs = self.steps.load_inputs(
                    self.config, progress=self.progress, calibrate=True, seed=point.seed
                )
                self.dense = None  # each seed times against its own dense model
            yield self._run_point(inputs, point, trials)

    def _pending(self) -> dict[Point, list[Trial]]:
        done = self.session.finished_keys()
        groups = trials_by_point(expand_trials(self.config))
        if self.points is not None:
            groups = {p: ts for p, ts in groups.items() if p in self.points}
        todo = {p: [t for t in ts if t.key not in done] for p, ts in groups.items()}
        skipped = [p.key for p, ts in todo.items() if not ts]
        if skipped:
            log.info("already finished, skipped: %s", ", ".join(skipped))
        return {p: ts for p, ts in todo.items() if ts}

    def _subject(
        self, inputs: Inputs, point: Point, trials: list[Trial], *, evaluate: bool = True
    ) -> Subject:
        folder = self.artifacts / point.key.replace("@", "_")
        built = self.steps.build_point(inputs, point, folder, self.progress)
        needed = artifacts_needed(self.config, trials)
        exports = self.steps.export_point(built, needed, folder, inputs.input_names)
        if evaluate:
            built = self.steps.evaluate_point(inputs, built, exports, self.progress)
        return Subject(built, dict(exports), folder)

    def _reference(self, inputs: Inputs, trials: list[Trial]) -> Subject | None:
        """The dense model with the artifacts `trials` load; exported once per sweep (it is
        the dense point's own subject when the dense point ran first in this process)."""
        if not self.config.interleave_dense:
            return None
        needed = artifacts_needed(self.config, trials)
        if self.dense is None or not needed <= set(self.dense.artifacts):
            dense = Point(DENSE_METHOD, 1.0, inputs.seed)
            self.dense = self._subject(inputs, dense, trials, evaluate=False)
        return self.dense

    def _run_point(self, inputs: Inputs, point: Point, trials: list[Trial]) -> FinishedPoint:
        try:
            subject = self._subject(inputs, point, trials)
            if point.is_dense:
                self.dense = subject
            twin = None if point.is_dense else self._reference(inputs, trials)
            options = dict(keep_going=self.keep_going, progress=self.progress)
            timings = self.steps.time_trials(inputs, subject, twin, trials, **options)
        except Exception as error:  # recorded (keep-going) or re-raised, never lost
            return self._failed(point, trials, error)
        export_s = {key: exported.seconds for key, exported in subject.artifacts.items()}
        exported = subject.artifacts.items()
        fused = {k: e.fused_ops for k, e in exported if getattr(e, "fused_ops", None)}
        dense = self.session.dense_samples()
        record = subject.built.record
        return record, self.steps.measurements(trials, record, timings, dense, export_s, fused)

    def _failed(self, point: Point, trials: list[Trial], error: BaseException) -> FinishedPoint:
        """The error policy: re-raise (usage errors as they are, others as `SweepError`), or
        under keep-going record the point's error rows and go on."""
        # A ratio the method cannot reach (KCM keeps every head) is a result, not a failure:
        # recorded as unreachable, with or without keep-going, and the sweep goes on.
        if rows.unreachable(error):
            log.warning("point %s: %s (recorded as unreachable)", point.key, error)
            return rows.failed_point(point, trials, error, self.config.budget)
        # Usage and storage errors stop even under keep-going: every later point would fail too
        # until the user changes something (exit 2; finished points stay stored).
        if is_usage_error(error) or storage_cause(error) is not None:
            raise error
        if not self.keep_going:
            text = f"point {point.key} failed: {type(error).__name__}: {error}"
            raise SweepError(text) from error
        # A typed failure is one line; anything else is a bug: keep its traceback in the log.
        trace = None if isinstance(error, HarnessError) else error
        log.error("point %s failed: %s: %s", point.key, type(error).__name__, error, exc_info=trace)
        log.warning("point %s recorded as failed; going on (--keep-going)", point.key)
        return rows.failed_point(point, trials, error, self.config.budget)
