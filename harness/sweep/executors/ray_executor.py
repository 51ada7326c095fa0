"""The Ray executor (`--executor ray`): prune tasks feed timing tasks, and finished points stream
back to the driver, which alone stores them (the usual atomic, resumable writes).

Each timing task runs in a fresh worker process (`max_calls=1`) and holds its device whole: a
GPU (`num_gpus=1`) when the config times on CUDA, and on CPU a whole node (its `timing_slot`
custom resource and every CPU of the smallest such node), so no two timings ever share a device.
Prune tasks (which evaluate) take a CPU, and a fraction of a GPU only when the task evaluates on
CUDA: a fraction is never granted on a GPU a timing task holds whole.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from harness.config.schema import BenchmarkConfig
from harness.errors import UsageError
from harness.results.keys import DENSE_METHOD
from harness.results.session import RunSession
from harness.sweep import rows
from harness.sweep.executors.ray_tasks import TimedPoint, prune_point, time_point
from harness.sweep.types import Outcome, Point, Trial

log = logging.getLogger(__name__)

TIMING_SLOT = "timing_slot"
"""Custom resource, 1 per node, that a CPU timing task holds (`ray start --resources`)."""
EVAL_GPU_FRACTION = 0.5
"""GPU share of a prune task that evaluates on CUDA: any fraction below 1 keeps it off a GPU
that a timing task holds whole."""


class ExecutorUnavailableError(UsageError):
    """The executor cannot run this config here (Ray missing, or a setting it cannot honour)."""


def check_ray(config: BenchmarkConfig) -> None:
    """Ray importable, and every speedup's dense twin timed in the same task (interleaved)."""
    try:
        import ray  # noqa: F401
    except ImportError as missing:
        raise ExecutorUnavailableError(
            "--executor ray needs Ray: pip install 'kprune-bench[ray]' (or use --executor local)"
        ) from missing
    if not config.interleave_dense:
        raise ExecutorUnavailableError(
            "--executor ray needs interleave_dense=true: timing tasks may run on different "
            "devices, so each pruned trial's dense twin must be timed in its own task"
        )


def timing_resources(config: BenchmarkConfig, nodes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Ray options of a timing task: the whole GPU on CUDA; on CPU the whole node."""
    devices = {runtime.device for runtime in config.runtimes}
    options: dict[str, Any] = {"max_calls": 1, "num_cpus": 1}
    if "cuda" in devices:
        options["num_gpus"] = 1
    if "cpu" in devices:
        slots = [n["Resources"] for n in nodes if n.get("Alive") and TIMING_SLOT in n["Resources"]]
        if not slots:
            raise ExecutorUnavailableError(
                f"no Ray node offers the {TIMING_SLOT!r} resource that CPU timing holds: start "
                f"each node with ray start --resources='{{\"{TIMING_SLOT}\": 1}}'"
            )
        options["num_cpus"] = min(r.get("CPU", 1) for r in slots)
        options["resources"] = {TIMING_SLOT: 1}
    return options


def prune_resources(config: BenchmarkConfig) -> dict[str, Any]:
    gpus = EVAL_GPU_FRACTION if config.evaluate and config.task.device == "cuda" else 0
    return {"num_cpus": 1, "num_gpus": gpus}


def _connect() -> tuple[Any, bool]:
    """(ray, started here): the running Ray, the cluster named by RAY_ADDRESS, or a new local
    one with one timing slot."""
    import ray

    if ray.is_initialized():
        return ray, False
    address = os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address)
    else:
        ray.init(address="local", resources={TIMING_SLOT: 1}, include_dashboard=False)
    return ray, True


def run_points(
    config: BenchmarkConfig,
    session: RunSession,
    pending: dict[Point, list[Trial]],
    artifacts: Path,
    *,
    keep_going: bool,
    progress: bool,
) -> Generator[tuple[Point, list[Trial], Outcome], None, None]:
    """Submit every pending point at once; yield each as its timing task finishes."""
    ray, started = _connect()
    waiting: dict[Any, tuple[Point, list[Trial]]] = {}
    try:
        prune = ray.remote(**prune_resources(config))(prune_point)
        timer = ray.remote(**timing_resources(config, ray.nodes()))(time_point)
        dense_refs = {}  # per seed: the dense model, built once, every pruned point's twin
        for seed in dict.fromkeys(point.seed for point in pending):
            dense = Point(DENSE_METHOD, 1.0, seed)
            everything = [t for p, trials in pending.items() if p.seed == seed for t in trials]
            dense_folder = _folder(artifacts, dense)
            dense_refs[seed] = prune.remote(
                config, dense, everything, dense_folder, dense in pending
            )
        for point, trials in pending.items():
            folder = _folder(artifacts, point)
            dense_ref = dense_refs[point.seed]
            subject = dense_ref
            if not point.is_dense:
                subject = prune.remote(config, point, trials, folder, True)
            twin = None if point.is_dense else dense_ref
            waiting[timer.remote(config, subject, twin, trials, keep_going)] = (point, trials)
        with tqdm(total=len(waiting), desc="points", unit="point", disable=not progress) as bar:
            while waiting:
                (ref,), _ = ray.wait(list(waiting), num_returns=1)
                point, trials = waiting.pop(ref)
                yield point, trials, _outcome(ray, ref, session, trials)
                bar.update(1)
    finally:
        for ref in waiting:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def _folder(artifacts: Path, point: Point) -> Path:
    return artifacts / point.key.replace("@", "_")


def _outcome(ray: Any, ref: Any, session: RunSession, trials: list[Trial]) -> Outcome:
    """The point's record and rows (stamped with the timing task's fingerprint), or its error
    (the task's own exception, not Ray's wrapper)."""
    try:
        timed: TimedPoint = ray.get(ref)
    except ray.exceptions.RayError as failed:  # a task raised, crashed or was cancelled
        cause = getattr(failed, "cause", None)
        return cause if isinstance(cause, BaseException) else failed
    key = fingerprint_key(timed.fingerprint)
    environment = session.run.environment
    fingerprints = {**environment.get("fingerprints", {}), key: timed.fingerprint}
    session.run = dataclasses.replace(
        session.run, environment={**environment, "fingerprints": fingerprints}
    )
    dense = session.dense_samples()
    measured = [
        rows.measurement(t, timed.record, timed.timings[t.key], dense, timed.export_seconds)
        for t in trials
    ]
    return timed.record, [dataclasses.replace(m, fingerprint=key) for m in measured]


def fingerprint_key(fingerprint: Mapping[str, Any]) -> str:
    """`ray-<hash>`: a content hash, so equal fingerprints share one key wherever they merge."""
    text = json.dumps(fingerprint, sort_keys=True, default=str)
    return "ray-" + hashlib.sha256(text.encode()).hexdigest()[:12]
