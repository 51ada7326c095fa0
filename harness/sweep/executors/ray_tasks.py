"""The bodies of the Ray executor's two tasks, as plain functions (Ray wraps them at run time):
`prune_point` builds, exports and evaluates a point; `time_point` times its trials beside the
dense twin, alone on its device, and says where and when it ran.

Importable and testable without Ray; they write only into the point's artifacts folder.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config.load import config_to_dict
from harness.config.schema import BenchmarkConfig
from harness.errors import UsageError
from harness.results.environment import collect_environment
from harness.results.records import PrunePoint
from harness.sweep import stages
from harness.sweep.devices import timing_devices
from harness.sweep.plan import artifacts_needed
from harness.sweep.timing import time_trials
from harness.sweep.types import ArtifactKey, Point, Subject, SweepInputs, Trial, TrialTiming

log = logging.getLogger(__name__)

_INPUTS: dict[tuple[str, bool, int], SweepInputs] = {}
"""Inputs loaded once per worker process (prune workers are reused across points)."""


@dataclass(frozen=True)
class TimedPoint:
    """What a timing task sends back: the point's record, its export seconds, its raw timings by
    trial key, and the fingerprint of the process that timed it (with the task's node, GPUs and
    time window). The model stays behind."""

    record: PrunePoint
    export_seconds: dict[ArtifactKey, float]
    timings: dict[str, TrialTiming]
    fingerprint: dict[str, Any]


def _inputs(config: BenchmarkConfig, calibrate: bool, seed: int) -> SweepInputs:
    key = (json.dumps(config_to_dict(config), sort_keys=True, default=str), calibrate, seed)
    if key not in _INPUTS:
        _INPUTS[key] = stages.load_inputs(config, progress=False, calibrate=calibrate, seed=seed)
    return _INPUTS[key]


def prune_point(
    config: BenchmarkConfig, point: Point, trials: list[Trial], folder: Path, evaluate: bool
) -> Subject:
    """The point's model (pruned once; the base model for dense), the artifacts its trials
    load, and its metric when `evaluate` (never on a GPU that times: see the task's resources)."""
    inputs = _inputs(config, calibrate=not point.is_dense, seed=point.seed)
    built = stages.build_point(inputs, point, folder, progress=False)
    needed = artifacts_needed(config, trials)
    atol = config.task.export_atol
    exports = stages.export_point(built, needed, folder, inputs.input_names, atol=atol)
    if evaluate:
        built = stages.evaluate_point(inputs, built, exports, progress=False)
    return Subject(built, dict(exports), folder)


def _check_visible(subject: Subject) -> None:
    for exported in subject.artifacts.values():
        if not Path(exported.path).is_file():
            raise UsageError(
                f"{exported.path} was exported on another node and is not visible on this one: "
                "pass --artifacts on a folder every Ray node mounts"
            )


def _task_facts() -> dict[str, Any]:
    """The Ray node, GPUs and process of this task (GPU ids as Ray assigned them)."""
    import ray

    context = ray.get_runtime_context()
    return {
        "node_id": context.get_node_id(),
        "gpu_ids": [str(g) for g in ray.get_gpu_ids()],
        "pid": os.getpid(),
    }


def time_point(
    config: BenchmarkConfig,
    subject: Subject,
    reference: Subject | None,
    trials: list[Trial],
    keep_going: bool,
) -> TimedPoint:
    """Time `trials` of `subject`, each pruned trial beside `reference` (the dense twin), in
    this fresh worker process; the fingerprint is taken before timing starts."""
    start_unix_s = time.time()
    for shown in (subject, reference):
        if shown is not None:
            _check_visible(shown)
    fingerprint = collect_environment()
    fingerprint["timing_devices"] = timing_devices(config, fingerprint)
    inputs = _inputs(config, calibrate=False, seed=subject.built.point.seed)
    timings = time_trials(inputs, subject, reference, trials, keep_going=keep_going, progress=False)
    window = {"start_unix_s": start_unix_s, "end_unix_s": time.time()}
    fingerprint["ray_task"] = {**_task_facts(), **window, "point": subject.built.point.key}
    export_s = {key: exported.seconds for key, exported in subject.artifacts.items()}
    return TimedPoint(subject.built.record, export_s, timings, fingerprint)
