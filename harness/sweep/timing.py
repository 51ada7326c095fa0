"""Time a point's trials: one group per (backend, device, threads), interleaved within the group
(in this process, or in a fresh process per group with `isolate_backends`).

Each pruned trial can be timed together with its dense twin (same runtime and shape) so that
drift on a shared machine hits both sides of the speedup. Returns raw `TimingResult`s (or the
error text of a failed group under keep-going); statistics are `harness.sweep.rows`' job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from harness.export.io_names import dummy_batch
from harness.sweep.plan import Trial
from harness.runtimes.base import load_runtime
from harness.sweep.stages import Subject, SweepInputs
from harness.measure.clock import Timed, TimingResult, measure_in_subprocess, measure_interleaved
from harness.measure.isolated import SubprocessJob, save_torch_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialTiming:
    """A trial's raw timing and the intra-op threads it ran with; `error` when it failed.
    `dense` is the dense model's timing on the same runtime and shape, interleaved with this one
    (only for pruned trials when `interleave_dense` is on)."""

    result: TimingResult | None
    threads: int | None
    error: str | None = None
    dense: TimingResult | None = None


DENSE_TWIN = "#dense"
"""Suffix of the key under which a pruned trial's interleaved dense twin is timed."""

# backend -> what its runtime loads in this process, and which file a timing child loads.
IN_PROCESS: dict[str, Callable[[Subject, Trial], Any]] = {
    "torch": lambda subject, trial: subject.built.model,
    "onnxruntime": lambda subject, trial: subject.exports[trial.runtime.dtype],
}
CHILD_FILE: dict[str, Callable[[Subject, Trial], Path]] = {
    "torch": lambda subject, trial: save_torch_model(
        subject.built.model, subject.folder / "model.pt"
    ),
    "onnxruntime": lambda subject, trial: subject.exports[trial.runtime.dtype].path,
}

Job = tuple[str, Subject, Trial]


def _groups(trials: Sequence[Trial]) -> dict[tuple[Any, ...], list[Trial]]:
    groups: dict[tuple[Any, ...], list[Trial]] = {}
    for trial in trials:
        r = trial.runtime
        groups.setdefault((r.backend, r.device, r.threads), []).append(trial)
    return groups


def _jobs(subject: Subject, reference: Subject | None, group: list[Trial]) -> list[Job]:
    """Each trial, and right after it its dense twin when a reference is given."""
    jobs: list[Job] = []
    for trial in group:
        jobs.append((trial.key, subject, trial))
        if reference is not None and not trial.point.is_dense:
            jobs.append((trial.key + DENSE_TWIN, reference, trial))
    return jobs


def _time_in_process(inputs: SweepInputs, jobs: list[Job]) -> dict[str, tuple[Any, int | None]]:
    threads_before = torch.get_num_threads()  # torch runtimes set it process-wide
    try:
        configs, threads = {}, {}
        for key, subject, trial in jobs:
            runtime = load_runtime(trial.runtime, IN_PROCESS[trial.runtime.backend](subject, trial))
            batch = dummy_batch(
                trial.batch_size,
                trial.seq_len,
                vocab_size=inputs.vocab_size,
                input_names=inputs.input_names,
                seed=inputs.config.seed,
            )
            configs[key] = Timed(runtime.bind(batch), runtime.sync)
            threads[key] = runtime.threads
        results = measure_interleaved(configs, inputs.config.timing)
    finally:
        torch.set_num_threads(threads_before)
    return {key: (results[key], threads[key]) for key in configs}


def _time_in_child(inputs: SweepInputs, jobs: list[Job]) -> dict[str, tuple[Any, int | None]]:
    files: dict[tuple[int, str, str], Path] = {}
    children = {}
    for key, subject, trial in jobs:
        which = (id(subject), trial.runtime.backend, trial.runtime.dtype)
        if which not in files:
            subject.folder.mkdir(parents=True, exist_ok=True)
            files[which] = CHILD_FILE[trial.runtime.backend](subject, trial)
        children[key] = SubprocessJob(
            trial.runtime,
            files[which],
            trial.batch_size,
            trial.seq_len,
            inputs.vocab_size,
            inputs.input_names,
            inputs.config.seed,
        )
    results = measure_in_subprocess(children, inputs.config.timing)
    return {key: (results[key], children[key].spec.threads) for key in children}


def _timings(group: list[Trial], raw: dict[str, tuple[Any, int | None]]) -> dict[str, TrialTiming]:
    timings = {}
    for trial in group:
        result, threads = raw[trial.key]
        twin = raw.get(trial.key + DENSE_TWIN)
        timings[trial.key] = TrialTiming(result, threads, dense=twin[0] if twin else None)
    return timings


def time_trials(
    inputs: SweepInputs,
    subject: Subject,
    reference: Subject | None,
    trials: Sequence[Trial],
    keep_going: bool,
    progress: bool,
) -> dict[str, TrialTiming]:
    """Raw timings by trial key, interleaved per (backend, device, threads) group together with
    the dense twins of `reference`; a failing group raises, or (keep-going) records its error."""
    timings: dict[str, TrialTiming] = {}
    bar = tqdm(
        total=len(trials),
        desc=f"time {subject.built.point.key}",
        unit="trial",
        disable=not progress,
        leave=False,
    )
    measure_group = _time_in_child if inputs.config.isolate_backends else _time_in_process
    with bar:
        for (backend, device, threads), group in _groups(trials).items():
            try:
                timings.update(
                    _timings(group, measure_group(inputs, _jobs(subject, reference, group)))
                )
            except Exception as error:  # recorded per trial under keep-going, else re-raised
                if not keep_going:
                    raise
                log.exception("timing %s/%s (threads %s) failed", backend, device, threads)
                text = f"{type(error).__name__}: {error}"
                timings.update({t.key: TrialTiming(None, threads, text) for t in group})
            bar.update(len(group))
    return timings
