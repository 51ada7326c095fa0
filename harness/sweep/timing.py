"""Time a point's trials: one group per (backend, device, threads), interleaved within the group
(in this process, or in a fresh process per group with `isolate_backends`), each pruned trial
together with its dense twin (same runtime and shape) so drift hits both sides of the speedup.

The machine's state is read before and after every group. Returns raw `TrialTiming`s (a failed
group's error text under keep-going); statistics are `sweep.rows`' job.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from harness.export.io_names import dummy_batch
from harness.measure.clock import Timed, TimingResult, measure_interleaved
from harness.measure.isolated import IsolatedJob, measure_isolated
from harness.results.environment import load_snapshot
from harness.runtimes.base import load_runtime
from harness.runtimes.torch_runtime import save_module
from harness.sweep.types import Subject, SweepInputs, Trial, TrialTiming

log = logging.getLogger(__name__)

DENSE_TWIN = "#dense"
"""Suffix of the key under which a pruned trial's interleaved dense twin is timed."""

Job = tuple[str, Subject, Trial]
GroupKey = tuple[str, str, int | None]


def _groups(trials: Sequence[Trial]) -> dict[GroupKey, list[Trial]]:
    groups: dict[GroupKey, list[Trial]] = {}
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


def _batch(inputs: SweepInputs, trial: Trial) -> dict[str, Any]:
    return dummy_batch(
        trial.batch_size,
        trial.seq_len,
        vocab_size=inputs.vocab_size,
        input_names=inputs.input_names,
        seed=inputs.config.seed,
    )


def _time_in_process(inputs: SweepInputs, jobs: list[Job]) -> dict[str, TimingResult]:
    threads_before = torch.get_num_threads()  # torch runtimes set it process-wide
    try:
        configs, threads = {}, {}
        for key, subject, trial in jobs:
            runtime = load_runtime(trial.runtime, subject.artifact(trial))
            configs[key] = Timed(runtime.bind(_batch(inputs, trial)), runtime.sync)
            threads[key] = runtime.threads
        results = measure_interleaved(configs, inputs.config.timing)
    finally:
        torch.set_num_threads(threads_before)
    pid = os.getpid()
    return {k: dataclasses.replace(r, threads=threads[k], pid=pid) for k, r in results.items()}


def _child_file(subject: Subject, trial: Trial) -> Path:
    if trial.artifact[0] == "module":
        return save_module(subject.built.model, subject.folder / "module")
    return Path(subject.artifacts[trial.artifact].path)


def _time_in_child(inputs: SweepInputs, jobs: list[Job]) -> dict[str, TimingResult]:
    files: dict[tuple[int, Any], Path] = {}
    children = {}
    for key, subject, trial in jobs:
        which = (id(subject), trial.artifact)
        if which not in files:
            subject.folder.mkdir(parents=True, exist_ok=True)
            files[which] = _child_file(subject, trial)
        children[key] = IsolatedJob(
            trial.runtime,
            files[which],
            trial.batch_size,
            trial.seq_len,
            inputs.vocab_size,
            inputs.input_names,
            inputs.config.seed,
        )
    config = inputs.config
    return measure_isolated(children, config.timing, timeout_s=config.isolated_timeout_s)


def _measure_group(inputs: SweepInputs, jobs: list[Job], group: list[Trial]) -> dict[str, Any]:
    measure: Callable[[SweepInputs, list[Job]], dict[str, TimingResult]] = (
        _time_in_child if inputs.config.isolate_backends else _time_in_process
    )
    before = load_snapshot()
    raw = measure(inputs, jobs)
    after = load_snapshot()
    state = {"state_before": before, "state_after": after}
    return {
        t.key: TrialTiming(raw[t.key], dense=raw.get(t.key + DENSE_TWIN), **state) for t in group
    }


def time_trials(
    inputs: SweepInputs,
    subject: Subject,
    reference: Subject | None,
    trials: Sequence[Trial],
    *,
    keep_going: bool,
    progress: bool,
) -> dict[str, TrialTiming]:
    """Raw timings by trial key, interleaved per (backend, device, threads) group together with
    the dense twins of `reference`; a failing group raises, or (keep-going) records its error
    and the other groups go on."""
    timings: dict[str, TrialTiming] = {}
    bar = tqdm(
        total=len(trials),
        desc=f"time {subject.built.point.key}",
        unit="trial",
        disable=not progress,
        leave=False,
    )
    with bar:
        for (backend, device, threads), group in _groups(trials).items():
            try:
                jobs = _jobs(subject, reference, group)
                timings.update(_measure_group(inputs, jobs, group))
            except Exception as error:  # recorded per trial under keep-going, else re-raised
                if not keep_going:
                    raise
                log.exception("timing %s/%s (threads %s) failed", backend, device, threads)
                text = f"{type(error).__name__}: {error}"
                timings.update({t.key: TrialTiming(None, text) for t in group})
            bar.update(len(group))
    return timings
