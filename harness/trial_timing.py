"""Time a point's trials: one group per (backend, device, threads), interleaved within the group
(in this process, or in a fresh process per group with `isolate_backends`).

Returns raw `TimingResult`s (or the error text of a failed group under keep-going); statistics
and records are `harness.point_records`' job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from harness.export import ExportedModel
from harness.model_io import dummy_batch
from harness.plan import Trial
from harness.runtimes.base import load_runtime
from harness.stages import PointModel, SweepInputs
from harness.timing import Timed, TimingResult, measure_in_subprocess, measure_interleaved
from harness.timing_subprocess import SubprocessJob, save_torch_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialTiming:
    """A trial's raw timing and the intra-op threads it ran with; `error` when it failed."""

    result: TimingResult | None
    threads: int | None
    error: str | None = None


Artifacts = dict[str, ExportedModel]
# backend -> what its runtime loads in this process, and which file a timing child loads.
IN_PROCESS: dict[str, Callable[[PointModel, Artifacts, Trial], Any]] = {
    "torch": lambda built, exports, trial: built.model,
    "onnxruntime": lambda built, exports, trial: exports[trial.runtime.dtype],
}
CHILD_FILE: dict[str, Callable[[PointModel, Artifacts, Trial, Path], Path]] = {
    "torch": lambda built, exports, trial, folder: save_torch_model(
        built.model, folder / "model.pt"
    ),
    "onnxruntime": lambda built, exports, trial, folder: exports[trial.runtime.dtype].path,
}


def _groups(trials: Sequence[Trial]) -> dict[tuple[Any, ...], list[Trial]]:
    groups: dict[tuple[Any, ...], list[Trial]] = {}
    for trial in trials:
        r = trial.runtime
        groups.setdefault((r.backend, r.device, r.threads), []).append(trial)
    return groups


def _time_in_process(
    inputs: SweepInputs, built: PointModel, exports: Artifacts, group: list[Trial]
) -> dict[str, TrialTiming]:
    threads_before = torch.get_num_threads()  # torch runtimes set it process-wide
    try:
        configs, threads = {}, {}
        for trial in group:
            artifact = IN_PROCESS[trial.runtime.backend](built, exports, trial)
            runtime = load_runtime(trial.runtime, artifact)
            batch = dummy_batch(
                trial.batch_size,
                trial.seq_len,
                vocab_size=inputs.vocab_size,
                input_names=inputs.input_names,
                seed=inputs.config.seed,
            )
            configs[trial.key] = Timed(runtime.bind(batch), runtime.sync)
            threads[trial.key] = runtime.threads
        results = measure_interleaved(configs, inputs.config.timing)
    finally:
        torch.set_num_threads(threads_before)
    return {key: TrialTiming(results[key], threads[key]) for key in configs}


def _time_in_child(
    inputs: SweepInputs, built: PointModel, exports: Artifacts, group: list[Trial], folder: Path
) -> dict[str, TrialTiming]:
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[tuple[str, str], Path] = {}
    jobs = {}
    for trial in group:
        which = (trial.runtime.backend, trial.runtime.dtype)
        if which not in files:
            files[which] = CHILD_FILE[which[0]](built, exports, trial, folder)
        jobs[trial.key] = SubprocessJob(
            trial.runtime,
            files[which],
            trial.batch_size,
            trial.seq_len,
            inputs.vocab_size,
            inputs.input_names,
            inputs.config.seed,
        )
    results = measure_in_subprocess(jobs, inputs.config.timing)
    return {key: TrialTiming(results[key], jobs[key].spec.threads) for key in jobs}


def time_trials(
    inputs: SweepInputs,
    built: PointModel,
    exports: Artifacts,
    trials: Sequence[Trial],
    folder: Path,
    keep_going: bool,
    progress: bool,
) -> dict[str, TrialTiming]:
    """Raw timings by trial key; a failing group raises, or (keep-going) records its error."""
    timings: dict[str, TrialTiming] = {}
    bar = tqdm(
        total=len(trials),
        desc=f"time {built.point.key}",
        unit="trial",
        disable=not progress,
        leave=False,
    )
    with bar:
        for (backend, device, threads), group in _groups(trials).items():
            try:
                if inputs.config.isolate_backends:
                    timings.update(_time_in_child(inputs, built, exports, group, folder))
                else:
                    timings.update(_time_in_process(inputs, built, exports, group))
            except Exception as error:  # recorded per trial under keep-going, else re-raised
                if not keep_going:
                    raise
                log.exception("timing %s/%s (threads %s) failed", backend, device, threads)
                text = f"{type(error).__name__}: {error}"
                timings.update({t.key: TrialTiming(None, threads, text) for t in group})
            bar.update(len(group))
    return timings
