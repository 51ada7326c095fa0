"""The sweep: for each (method, kept-FLOPs ratio) point, prune once -> export -> evaluate -> time
every runtime -> store the finished point at once (resumable). The only module that wires all
stages; each stage is a function of explicit inputs (`harness.sweep.stages`, `harness.sweep.timing`,
`harness.sweep.rows`), and the results file is `harness.results.session`'s.
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

from harness.sweep import rows as point_records
from harness.sweep import stages
from harness.data.assets import ASSETS, install_assets
from harness.config.schema import BenchmarkConfig
from harness.results.environment import collect_environment
from harness.errors import HarnessError
from harness.sweep.plan import Point, Trial, expand_trials, trials_by_point
from harness.results.records import BenchmarkRun, PrunePoint
from harness.results.session import dense_samples, finished_keys, open_run, store_point
from harness.sweep.timing import time_trials

log = logging.getLogger(__name__)

PointHook = Callable[[PrunePoint], None]


class SweepError(HarnessError):
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
    raises `SweepError` (finished points stay stored). Artifacts (ONNX, manifests, pruning
    logs) go to `artifacts_dir` (default: `<out_dir>/../bench_artifacts`), never into out_dir.
    """
    out = Path(out_dir)
    environment = _seed_and_record(config)
    path, run = open_run(config, out, environment, resume)
    artifacts = Path(artifacts_dir) if artifacts_dir else out.parent / "bench_artifacts"
    artifacts = artifacts / str(environment["machine_id"]) / path.stem
    with _progress_logging(progress):
        log.info("results: %s; artifacts: %s", path, artifacts)
        run = _sweep(config, path, run, artifacts, keep_going, progress, on_point_done)
    return run


@contextlib.contextmanager
def _progress_logging(progress: bool) -> Iterator[None]:
    if not progress:
        yield
        return
    with logging_redirect_tqdm():
        yield


def _sweep(
    config: BenchmarkConfig,
    path: Path,
    run: BenchmarkRun,
    artifacts: Path,
    keep_going: bool,
    progress: bool,
    on_point_done: PointHook | None,
) -> BenchmarkRun:
    done = finished_keys(run)
    groups = trials_by_point(expand_trials(config))
    todo = {p: [t for t in ts if t.key not in done] for p, ts in groups.items()}
    skipped = [p.key for p, ts in todo.items() if not ts]
    if skipped:
        log.info("already finished, skipped: %s", ", ".join(skipped))
    pending = {p: ts for p, ts in todo.items() if ts}
    if not pending:
        return run
    inputs = stages.load_inputs(config, progress=progress, calibrate=True)
    pruned_trials = [t for p, ts in pending.items() if not p.is_dense for t in ts]
    reference = _Reference(inputs, pruned_trials, artifacts / "dense_reference")
    for point, trials in tqdm(pending.items(), desc="points", unit="point", disable=not progress):
        folder = artifacts / point.key.replace("@", "_")
        record, rows = _run_point(
            inputs, point, trials, dense_samples(run), folder, reference, keep_going, progress
        )
        run = store_point(path, run, record, rows)
        log.info("stored %s (%d measurements) in %s", point.key, len(rows), path)
        if on_point_done is not None:
            on_point_done(record)
    return run


class _Reference:
    """The dense model timed interleaved with pruned trials; built on first use, once."""

    def __init__(self, inputs: stages.SweepInputs, trials: list[Trial], folder: Path) -> None:
        self.inputs, self.trials, self.folder = inputs, trials, folder
        self.subject: stages.Subject | None = None

    def get(self) -> stages.Subject | None:
        if not self.inputs.config.interleave_dense:
            return None
        if self.subject is None:
            self.subject = stages.dense_reference(self.inputs, self.trials, self.folder)
        return self.subject


def _run_point(
    inputs: stages.SweepInputs,
    point: Point,
    trials: list[Trial],
    dense: dict[str, list[float]],
    folder: Path,
    reference: _Reference,
    keep_going: bool,
    progress: bool,
) -> tuple[PrunePoint, list[Any]]:
    try:
        built = stages.build_point(inputs, point, folder, progress)
        exports = stages.export_point(inputs, built, trials, folder)
        metric = stages.evaluate_point(inputs, built, exports, progress)
        twin = None if point.is_dense else reference.get()
        subject = stages.Subject(built, exports, folder)
        timings = time_trials(inputs, subject, twin, trials, keep_going, progress)
    except Exception as error:  # recorded (keep-going) or re-raised as SweepError, never lost
        if not keep_going:
            raise SweepError(
                f"point {point.key} failed: {type(error).__name__}: {error}"
            ) from error
        log.exception("point %s failed; recorded, going on (--keep-going)", point.key)
        return point_records.failed_point(point, trials, error)
    rows = [
        point_records.measurement(t, built, metric, timings[t.key], dense, exports) for t in trials
    ]
    return point_records.point_record(built, metric), rows
