"""Structure replay: each point of a stored run rebuilt as its exact pruned architecture (heads and
FFN width per layer; an empty sublayer becomes kprune's bias-only block) with random weights.

Latency depends on shapes, not on weight values: a pruned structure is a few hundred bytes, a
checkpoint hundreds of megabytes, so this is how pruned models are timed on a machine the weights
never reach (and the same models on many machines). A replayed point's task metric is the stored
run's, and says so (`metric_source`). Never prunes and never evaluates.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from harness.errors import UsageError
from harness.results.keys import point_key, record_point_key
from harness.results.records import BenchmarkRun, PrunePoint, read_run
from kprune import EncoderShape, Masks, count_parameters, encoder_shape, remove_pruned_units

if TYPE_CHECKING:
    from harness.config.schema import ModelSpec
    from harness.models.load import Head, LoadedModel

log = logging.getLogger(__name__)

SOURCE = "replay"
"""The `ModelSpec.source` of a replayed model."""


class ReplayError(UsageError):
    """A stored run cannot be replayed on the requested shape (missing point, wrong shape)."""


def _stored_run(spec: ModelSpec) -> tuple[Path, BenchmarkRun]:
    path = Path(spec.replay_run or "")
    if not path.is_file():
        raise ReplayError(
            f"model.replay_run {str(path)!r} is not a file; point it at a results .json under "
            "bench_results/ (e.g. the committed default run)"
        )
    return path, read_run(path)


def _keep_first(counts: list[int], available: tuple[int, ...], what: str) -> torch.Tensor:
    """[layers, units] bool: the first `counts[i]` units of layer i (weights are random, so
    which units are kept does not matter; how many does)."""
    if len(set(available)) != 1:
        raise ReplayError(f"replay starts from a dense model; this one has {what} {available}")
    if any(not 0 <= n <= available[0] for n in counts):
        raise ReplayError(f"stored {what} per layer {counts} do not fit {available[0]} per layer")
    return torch.arange(available[0])[None, :] < torch.tensor(counts)[:, None]


def structure_masks(point: PrunePoint, shape: EncoderShape) -> Masks:
    """Keep-masks with exactly the stored point's heads and FFN neurons per layer."""
    layers = len(point.heads_per_layer)
    if layers != shape.num_layers or len(point.neurons_per_layer) != layers:
        raise ReplayError(
            f"{record_point_key(point)} has {layers} layers of heads "
            f"and {len(point.neurons_per_layer)} of neurons; the shape has {shape.num_layers}"
        )
    heads = _keep_first(point.heads_per_layer, shape.heads_per_layer, "heads")
    neurons = _keep_first(point.neurons_per_layer, shape.neurons_per_layer, "neurons")
    return Masks(head_keep=heads, neuron_keep=neurons)


def replay_structure(base: nn.Module, point: PrunePoint) -> nn.Module:
    """A copy of the dense `base` pruned to the stored point's structure (eval mode)."""
    return remove_pruned_units(base, structure_masks(point, encoder_shape(base))).eval()


def replayed_record(point: PrunePoint, model: nn.Module, source: str) -> PrunePoint:
    """The stored record, re-measured on `model` (structure, parameters), its metric labelled
    as replayed from `source`; nothing was pruned here (no pruning time or sublayer log)."""
    shape = encoder_shape(model)
    return dataclasses.replace(
        point,
        params=count_parameters(model),
        heads_per_layer=list(shape.heads_per_layer),
        neurons_per_layer=list(shape.neurons_per_layer),
        prune_seconds=None,
        sublayers=[],
        untuned_sublayers=[],
        method_config={**point.method_config, "replayed_from": source},
        metric_source=f"replayed from {source} ({point.metric_source or 'its stored metric'})",
        metrics_by_runtime={},
    )


def _stored_point(
    run: BenchmarkRun, path: Path, method: str, ratio: float, seed: int
) -> PrunePoint:
    stored = {point_key(p.method, p.target_flops_ratio, p.seed): p for p in run.points}
    key = point_key(method, ratio, seed)
    if key not in stored or stored[key].error:
        raise ReplayError(
            f"{path} has no finished point {key} to replay; it has {sorted(stored)}: set "
            "flops_ratios and methods to points of that run"
        )
    return stored[key]


def replay_point(
    spec: ModelSpec, base: nn.Module, method: str, ratio: float, seed: int = 0
) -> tuple[nn.Module, PrunePoint]:
    """The model and record of the stored point (method, ratio, sweep seed), rebuilt from the
    dense `base`."""
    path, run = _stored_run(spec)
    point = _stored_point(run, path, method, ratio, seed)
    model = replay_structure(base, point)
    return model, replayed_record(point, model, f"{path.name} (run {run.run_id})")


def _check_dense(base: nn.Module, run: BenchmarkRun, path: Path, spec: ModelSpec) -> None:
    dense = [p for p in run.points if p.method == "dense" and not p.error]
    if not dense:
        log.warning("%s has no dense point; only the pruned structures are checked", path)
        return
    stored, shape = dense[0], encoder_shape(base)
    found = (list(shape.heads_per_layer), list(shape.neurons_per_layer), count_parameters(base))
    wanted = (stored.heads_per_layer, stored.neurons_per_layer, stored.params)
    if found != wanted:
        raise ReplayError(
            f"{path}'s dense model has (heads, neurons, parameters) {wanted} but the "
            f"{spec.name!r} shape with this task's head has {found}; set model.name to the "
            "shape that run pruned (and a task with as many labels)"
        )


def load_replay(spec: ModelSpec, head: Head, cache_dir: Path | None, progress: bool) -> LoadedModel:
    """The dense model of the stored run: random weights in the `spec.name` shape, checked
    against the run's dense point (structure and parameter count)."""
    from harness.config.schema import ModelSpec as Spec
    from harness.models.load import LoadedModel, load_model

    path, run = _stored_run(spec)
    random = Spec("random-shape", name=spec.name, seed=spec.seed)
    base = load_model(random, head, cache_dir=cache_dir, progress=progress).model
    _check_dense(base, run, path, spec)
    what = f"REPLAY of {path.name}: {spec.name} structures, RANDOM weights (seed {spec.seed})"
    return LoadedModel(base, None, what)
