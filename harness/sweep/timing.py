"""Time a point's trials: one group per (backend, device, threads), interleaved within the group
(in this process, or in a fresh process per group with `isolate_backends`), each pruned trial
together with its dense twin (same runtime and shape) so drift hits both sides of the speedup.

Every backend times the same inputs, with the same padding (`TIMED_PAD_LAST_ROWS`). A row that
runs what the export gate did not check (CUDA, a fixed-shape graph) is gated on its own device
first (`export.device_parity`). The machine's state is read before and after every group. A
runtime that fails becomes its own error (keep-going) while the rest of its group is timed.
Returns raw `TrialTiming`s; statistics are `sweep.rows`' job.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from harness.export.device_parity import DeviceGates, needs_gate
from harness.export.io_names import TIMED_PAD_LAST_ROWS, dummy_batch
from harness.export.static import StaticShapeGraphs
from harness.measure.clock import Timed, TimingResult
from harness.measure.isolated import IsolatedJob, measure_isolated
from harness.measure.survivors import Failure, describe, measure_survivors
from harness.results.atomic_files import storage_cause
from harness.results.environment import load_snapshot
from harness.runtimes.base import load_runtime
from harness.runtimes.torch_runtime import save_module
from harness.sweep.groups import log_failure, runtime_groups
from harness.sweep.types import Subject, SweepInputs, Trial, TrialTiming

log = logging.getLogger(__name__)

DENSE_TWIN = "#dense"
"""Suffix of the key under which a pruned trial's interleaved dense twin is timed."""

Job = tuple[str, Subject, Trial]
Raw = dict[str, TimingResult | Failure]


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
        pad_last_rows=TIMED_PAD_LAST_ROWS,
        seed=inputs.config.seed,
    )


@dataclasses.dataclass
class _Artifacts:
    """What a job loads: its subject's artifact (a fixed-shape graph for the trial's shape),
    gated on the trial's device and dtype when the export gate did not cover them."""

    gates: DeviceGates = dataclasses.field(default_factory=DeviceGates)

    def resolve(self, subject: Subject, trial: Trial) -> Any:
        artifact = subject.artifact(trial)
        shape = None
        if isinstance(artifact, StaticShapeGraphs):
            shape = (trial.batch_size, trial.seq_len)
            artifact = artifact.for_shape(*shape)
        if needs_gate(trial.runtime, trial.artifact[0]):
            self.gates.ensure(subject.built.model, trial.runtime, artifact, shape)
        return artifact


def _setup_here(
    inputs: SweepInputs, artifacts: _Artifacts, job: Job, threads: dict[str, int | None]
) -> Timed:
    key, subject, trial = job
    runtime = load_runtime(trial.runtime, artifacts.resolve(subject, trial))
    threads[key] = runtime.threads
    return Timed(runtime.bind(_batch(inputs, trial)), runtime.sync)


def _time_in_process(
    inputs: SweepInputs, jobs: list[Job], artifacts: _Artifacts, stop_on_error: bool
) -> Raw:
    threads_before = torch.get_num_threads()  # torch runtimes set it process-wide
    threads: dict[str, int | None] = {}
    try:
        setups = {job[0]: partial(_setup_here, inputs, artifacts, job, threads) for job in jobs}
        raw = measure_survivors(setups, inputs.config.timing, stop_on_error=stop_on_error)
    finally:
        torch.set_num_threads(threads_before)
    pid = os.getpid()
    return {
        k: dataclasses.replace(r, threads=threads[k], pid=pid) if isinstance(r, TimingResult) else r
        for k, r in raw.items()
    }


def _child_file(subject: Subject, trial: Trial, artifact: Any) -> Path:
    if trial.artifact[0] == "module":
        return save_module(subject.built.model, subject.folder / "module")
    return Path(artifact.path)


def _child_job(inputs: SweepInputs, trial: Trial, path: Path) -> IsolatedJob:
    return IsolatedJob(
        trial.runtime,
        path,
        trial.batch_size,
        trial.seq_len,
        inputs.vocab_size,
        inputs.input_names,
        inputs.config.seed,
        pad_last_rows=TIMED_PAD_LAST_ROWS,
    )


def _time_in_child(
    inputs: SweepInputs, jobs: list[Job], artifacts: _Artifacts, stop_on_error: bool
) -> Raw:
    files: dict[tuple[int, Any, int, int], Path] = {}
    children, failed = {}, {}
    for key, subject, trial in jobs:
        which = (id(subject), trial.artifact, trial.batch_size, trial.seq_len)
        try:
            if which not in files:
                subject.folder.mkdir(parents=True, exist_ok=True)
                files[which] = _child_file(subject, trial, artifacts.resolve(subject, trial))
            children[key] = _child_job(inputs, trial, files[which])
        except Exception as error:  # this job's error; the others go to the child
            if stop_on_error:
                raise
            log_failure(error, "%s could not be prepared; recorded, the others go on", key)
            failed[key] = Failure(describe(error))
    timing, limit = inputs.config.timing, inputs.config.isolated_timeout_s
    raw: Raw = {}
    if children:
        raw.update(measure_isolated(children, timing, timeout_s=limit, stop_on_error=stop_on_error))
    return {**raw, **failed}


def _trial_timing(trial: Trial, raw: Raw, state: dict[str, Any]) -> TrialTiming:
    own, twin = raw[trial.key], raw.get(trial.key + DENSE_TWIN)
    if isinstance(own, Failure):
        return TrialTiming(None, own.error, **state)
    if isinstance(twin, Failure):
        log.warning("the dense twin of %s failed (%s); no interleaved dense", trial.key, twin.error)
    dense = twin if isinstance(twin, TimingResult) else None
    return TrialTiming(own, dense=dense, **state)


def _measure_group(
    inputs: SweepInputs,
    jobs: list[Job],
    group: list[Trial],
    artifacts: _Artifacts,
    keep_going: bool,
) -> dict[str, TrialTiming]:
    measure: Callable[[SweepInputs, list[Job], _Artifacts, bool], Raw] = (
        _time_in_child if inputs.config.isolate_backends else _time_in_process
    )
    before = load_snapshot()
    raw = measure(inputs, jobs, artifacts, not keep_going)
    after = load_snapshot()
    state = {"state_before": before, "state_after": after, "pad_last_rows": TIMED_PAD_LAST_ROWS}
    return {t.key: _trial_timing(t, raw, state) for t in group}


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
    the dense twins of `reference`. A failing runtime raises, or (keep-going) becomes the error
    of its own trials while the rest of its group is timed; a group that fails as a whole (its
    timing child crashed) records the error for each of its trials and the other groups go on."""
    timings: dict[str, TrialTiming] = {}
    artifacts = _Artifacts()
    bar = tqdm(
        total=len(trials),
        desc=f"time {subject.built.point.key}",
        unit="trial",
        disable=not progress,
        leave=False,
    )
    with bar:
        for (backend, device, threads), group in runtime_groups(trials).items():
            try:
                jobs = _jobs(subject, reference, group)
                timings.update(_measure_group(inputs, jobs, group, artifacts, keep_going))
            except Exception as error:  # recorded per trial under keep-going, else re-raised
                if not keep_going or storage_cause(error) is not None:
                    raise  # a full disk or read-only folder stops the sweep: --resume continues
                log_failure(error, "timing %s/%s (threads %s) failed", backend, device, threads)
                text = f"{type(error).__name__}: {error}"
                timings.update({t.key: TrialTiming(None, text) for t in group})
            bar.update(len(group))
    return timings
