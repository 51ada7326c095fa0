"""The sweep: for each (method, kept-FLOPs ratio) point, prune once -> export -> evaluate -> time
every runtime -> store the finished point at once (resumable). The only module that imports the
rest of `sweep/`; it owns the loop, the error policy and the results-file session.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from harness.config.load import config_to_dict
from harness.config.schema import BenchmarkConfig
from harness.data.assets import ASSETS, install_assets
from harness.errors import MeasuredFailure, is_usage_error
from harness.results.environment import collect_environment
from harness.results.keys import DENSE_METHOD
from harness.results.records import BenchmarkRun, Measurement, PrunePoint
from harness.results.session import RunSession
from harness.sweep import rows, stages
from harness.sweep.plan import artifacts_needed, expand_trials, trials_by_point
from harness.sweep.timing import time_trials
from harness.sweep.types import Point, Subject, SweepInputs, Trial

log = logging.getLogger(__name__)

PointHook = Callable[[PrunePoint], None]


class SweepError(MeasuredFailure):
    """A point of the sweep failed (default: stop at once); earlier points stay stored."""


def prepare(config: BenchmarkConfig, *, install: bool = True, progress: bool = True) -> None:
    """Install the config's missing bundled assets (optional) and fine-tune / load its model."""
    if install:
        install_assets(needed_assets(config))
    inputs = stages.load_inputs(config, progress=progress, calibrate=False)
    log.info("ready: %s on task %s", inputs.description, config.task.name)


def needed_assets(config: BenchmarkConfig) -> list[str]:
    """Bundled assets the config reads: the task's data and, when fine-tuned, the encoder."""
    names = [config.task.name]
    if config.model.source == "finetuned":
        from harness.models.finetune import preset

        spec = preset(config.model.name or config.task.name)
        names += [spec.base, spec.task]
    return [name for name in dict.fromkeys(names) if name in ASSETS]


def _seed_and_record(config: BenchmarkConfig) -> dict[str, Any]:
    """Seed every RNG once for the sweep; return the environment with what was set."""
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    environment = collect_environment()
    environment["sweep_settings"] = {"seed": config.seed, "torch_threads": torch.get_num_threads()}
    return environment


def run_benchmark(
    config: BenchmarkConfig,
    out_dir: Path | str,
    *,
    resume: bool = False,
    keep_going: bool = False,
    progress: bool = True,
    on_point_done: PointHook | None = None,
    artifacts_dir: Path | str | None = None,
) -> BenchmarkRun:
    """Run (or continue) the sweep; every finished point is in the results file at once.

    `keep_going` records a failing point's error and goes on; otherwise the first failure
    raises (usage errors as they are, others as `SweepError`; finished points stay stored).
    Artifacts (ONNX, manifests, pruning logs) go to `artifacts_dir` (default:
    `<out_dir>/../bench_artifacts`), never into out_dir.
    """
    out = Path(out_dir)
    session = RunSession.open(config_to_dict(config), out, _seed_and_record(config), resume)
    artifacts = Path(artifacts_dir) if artifacts_dir else out.parent / "bench_artifacts"
    artifacts = artifacts / session.run.environment["machine_id"] / session.path.stem
    with _progress_logging(progress):
        log.info("results: %s; artifacts: %s", session.path, artifacts)
        _Sweep(config, session, artifacts, keep_going, progress).run(on_point_done)
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

    def run(self, on_point_done: PointHook | None) -> None:
        pending = self._pending()
        if not pending:
            return
        inputs = stages.load_inputs(self.config, progress=self.progress, calibrate=True)
        bar = tqdm(pending.items(), desc="points", unit="point", disable=not self.progress)
        for point, trials in bar:
            record, measurements = self._run_point(inputs, point, trials)
            self.session.store_point(record, measurements)
            log.info("stored %s (%d measurements)", point.key, len(measurements))
            if on_point_done is not None:
                on_point_done(record)

    def _pending(self) -> dict[Point, list[Trial]]:
        done = self.session.finished_keys()
        groups = trials_by_point(expand_trials(self.config))
        todo = {p: [t for t in ts if t.key not in done] for p, ts in groups.items()}
        skipped = [p.key for p, ts in todo.items() if not ts]
        if skipped:
            log.info("already finished, skipped: %s", ", ".join(skipped))
        return {p: ts for p, ts in todo.items() if ts}

    def _subject(
        self, inputs: SweepInputs, point: Point, trials: list[Trial], *, evaluate: bool = True
    ) -> Subject:
        folder = self.artifacts / point.key.replace("@", "_")
        built = stages.build_point(inputs, point, folder, self.progress)
        needed = artifacts_needed(self.config, trials)
        exports = stages.export_point(built, needed, folder, inputs.input_names)
        if evaluate:
            built = stages.evaluate_point(inputs, built, exports, self.progress)
        return Subject(built, dict(exports), folder)

    def _reference(self, inputs: SweepInputs, trials: list[Trial]) -> Subject | None:
        """The dense model with the artifacts `trials` load; exported once per sweep (it is
        the dense point's own subject when the dense point ran first in this process)."""
        if not self.config.interleave_dense:
            return None
        needed = artifacts_needed(self.config, trials)
        if self.dense is None or not needed <= set(self.dense.artifacts):
            dense = Point(DENSE_METHOD, 1.0)
            self.dense = self._subject(inputs, dense, trials, evaluate=False)
        return self.dense

    def _run_point(
        self, inputs: SweepInputs, point: Point, trials: list[Trial]
    ) -> tuple[PrunePoint, list[Measurement]]:
        try:
            subject = self._subject(inputs, point, trials)
            if point.is_dense:
                self.dense = subject
            twin = None if point.is_dense else self._reference(inputs, trials)
            options = dict(keep_going=self.keep_going, progress=self.progress)
            timings = time_trials(inputs, subject, twin, trials, **options)
        except Exception as error:  # recorded (keep-going) or re-raised, never lost
            if not self.keep_going:
                if is_usage_error(error):
                    raise  # exit 2 with the error's own message
                raise SweepError(
                    f"point {point.key} failed: {type(error).__name__}: {error}"
                ) from error
            log.exception("point %s failed; recorded, going on (--keep-going)", point.key)
            return rows.failed_point(point, trials, error)
        export_s = {key: exported.seconds for key, exported in subject.artifacts.items()}
        dense = self.session.dense_samples()
        record = subject.built.record
        measured = [rows.measurement(t, record, timings[t.key], dense, export_s) for t in trials]
        return record, measured
