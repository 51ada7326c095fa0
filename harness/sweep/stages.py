"""The stages of one sweep point as functions of explicit inputs: load the sweep's inputs, build
(prune) the point's model and its one pruning record, export the artifacts its trials load, and
evaluate it. Timing is `sweep.timing`'s, rows are `sweep.rows`'; `sweep.run` wires them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from harness.config.methods import method_config
from harness.config.schema import BenchmarkConfig
from harness.data.calibration import sample_calibration_batches
from harness.data.tasks import TOKENIZER_FALLBACKS, TaskData, load_task
from harness.errors import MeasuredFailure, UsageError
from harness.export.fp16 import to_fp16
from harness.export.fusion import fuse_onnx
from harness.export.io_names import model_input_names
from harness.export.onnx import export_onnx
from harness.export.static import StaticShapeGraphs
from harness.measure.evaluation import MetricResult, evaluate
from harness.models import replay
from harness.models.load import Head, load_model
from harness.results.atomic_files import replace_text
from harness.results.records import PrunePoint
from harness.runtimes.base import RuntimeSpec, load_runtime, scoring_spec
from harness.sweep.seeds import seeded_config, seeded_method_config
from harness.sweep.types import ArtifactKey, Inputs, Point, PointModel, SweepInputs
from kprune import PruneResult, count_parameters, encoder_shape, prune

log = logging.getLogger(__name__)


class MetricMismatchError(MeasuredFailure):
    """The exported graph scores differently from the PyTorch model beyond the tolerance."""


class TokenizerMissingError(UsageError):
    """The model ships no tokenizer and the task has no fallback tokenizer."""


def _tokenizer(loaded_tokenizer: Any, task: str) -> Any:
    if loaded_tokenizer is not None:
        return loaded_tokenizer
    if task not in TOKENIZER_FALLBACKS:
        raise TokenizerMissingError(
            f"the model has no tokenizer and task {task!r} has no fallback "
            f"(tasks with one: {sorted(TOKENIZER_FALLBACKS)}); add tokenizer files to the "
            "checkpoint folder"
        )
    log.info("the model ships no tokenizer; using the %s task's tokenizer", task)
    return TOKENIZER_FALLBACKS[task]()


def _eval_split(task: TaskData, limit: int | None) -> TaskData:
    return dataclasses.replace(task, dev=task.dev[:limit]) if limit else task


def load_inputs(
    config: BenchmarkConfig, *, progress: bool, calibrate: bool, seed: int = 0
) -> SweepInputs:
    """Load the task, the base model (fine-tuning it on first use) and the calibration batches,
    as sweep seed `seed` draws them (`sweep.seeds`); `inputs.config` stays the sweep's config."""
    sweep_config, config = config, seeded_config(config, seed)
    task = load_task(config.task)
    spec = config.model
    if spec.source == "finetuned" and spec.name is None:
        spec = dataclasses.replace(spec, name=config.task.name)
    loaded = load_model(spec, Head(task.kind, task.num_labels), progress=progress)
    tokenizer = _tokenizer(loaded.tokenizer, config.task.name)
    batches = []
    if calibrate:
        batches = sample_calibration_batches(
            task, tokenizer, config.calibration, max_length=config.calibration_max_length
        )
    model_config: Any = loaded.model.config
    return SweepInputs(
        config=sweep_config,
        model=loaded.model,
        tokenizer=tokenizer,
        task=task,
        eval_task=_eval_split(task, config.task.max_eval_examples),
        batches=batches,
        seed=seed,
        input_names=model_input_names(model_config),
        vocab_size=int(model_config.vocab_size),
        description=loaded.description,
    )


def prune_record(
    point: Point,
    model: Any,
    result: PruneResult | None,
    budget: str = "flops",
    original_params: int | None = None,
) -> PrunePoint:
    """The one record of a point's model: what it kept and how pruning went (no metric yet);
    `original_params` (the dense model's count) adds the achieved parameter ratio."""
    shape = encoder_shape(model)
    params = count_parameters(model)
    common = dict(
        method=point.method,
        target_flops_ratio=point.target_flops_ratio,
        seed=point.seed,
        budget=budget,
        achieved_params_ratio=params / original_params if original_params else None,
        params=params,
        heads_per_layer=list(shape.heads_per_layer),
        neurons_per_layer=list(shape.neurons_per_layer),
    )
    if result is None:
        return PrunePoint(achieved_flops_ratio=1.0, **common)  # type: ignore[arg-type]
    return PrunePoint(
        achieved_flops_ratio=float(result.flops.ratio),
        prune_seconds=float(result.seconds),
        sublayers=[dataclasses.asdict(s) for s in result.sublayers],
        untuned_sublayers=list(result.untuned_sublayers),
        method_config={k: _plain(v) for k, v in dataclasses.asdict(result.config).items()},
        **common,  # type: ignore[arg-type]
    )


def _plain(value: Any) -> Any:
    return value if isinstance(value, bool | int | float | str | type(None)) else str(value)


def build_point(inputs: Inputs, point: Point, folder: Path, progress: bool) -> PointModel:
    """The dense base model, or the model pruned once by the point's method (per-sublayer bar).
    The pruning record is also written to `folder/prune_log.json`, as it is stored. A replayed
    model source rebuilds the stored run's structure of the point instead (`models.replay`)."""
    if inputs.config.model.source == replay.SOURCE:
        base, spec = inputs.model, inputs.config.model
        ratio = point.target_flops_ratio
        model, stored = replay.replay_point(spec, base, point.method, ratio, point.seed)
        return PointModel(point, model, stored)
    budget = inputs.config.budget
    original = count_parameters(inputs.model)
    if point.is_dense:
        record = prune_record(point, inputs.model, None, budget, original)
        return PointModel(point, inputs.model, record)
    if point.seed != inputs.seed:
        raise ValueError(f"point {point.key} built from the inputs of seed {inputs.seed}")
    options = inputs.config.method_options
    config = method_config(options, point.method, point.target_flops_ratio, budget)
    config = seeded_method_config(config, point.seed)
    total = 2 * encoder_shape(inputs.model).num_layers
    with tqdm(
        total=total, desc=f"prune {point.key}", unit="sublayer", disable=not progress, leave=False
    ) as bar:
        result = prune(inputs.model, inputs.batches, config, on_sublayer=lambda _: bar.update(1))
    model = result.model.to("cpu").eval()
    record = prune_record(point, model, result, budget, original)
    text = json.dumps(dataclasses.asdict(record), indent=1) + "\n"
    replace_text(folder / "prune_log.json", text)
    return PointModel(point, model, record)


def export_point(
    built: PointModel,
    needed: Iterable[ArtifactKey],
    folder: Path,
    input_names: tuple[str, ...],
    *,
    atol: float,
) -> dict[ArtifactKey, Any]:
    """The exported artifacts the point's trials load: the fp32 graph (once), its fp16 twin and
    ORT-fused twins as asked, each gated against the PyTorch model, and for CUDA-graph rows the
    fixed-shape twins of a graph (`StaticShapeGraphs`: one file per timed shape, on request)."""
    needed = set(needed)
    if not needed:
        return {}
    fp32 = export_onnx(built.model, folder, name="model", input_names=input_names, atol=atol)
    artifacts: dict[ArtifactKey, Any] = {("onnx", "float32"): fp32}
    if ("onnx", "float16") in needed or ("onnx-static", "float16") in needed:
        artifacts[("onnx", "float16")] = to_fp16(fp32, built.model)
    attention = any(built.record.heads_per_layer)  # an all-empty model has none to fuse
    for kind, dtype in sorted(needed):
        if kind == "onnx-fused":
            artifacts[(kind, dtype)] = fuse_onnx(
                fp32,
                reference_model=built.model,
                fp16=dtype == "float16",
                require_attention=attention,
            )
        elif kind == "onnx-static":
            artifacts[(kind, dtype)] = StaticShapeGraphs(artifacts[("onnx", dtype)])
    return artifacts


def _score(inputs: SweepInputs, predictor: Any, progress: bool) -> MetricResult:
    task = inputs.config.task
    return evaluate(
        predictor,
        inputs.eval_task,
        inputs.tokenizer,
        batch_size=task.eval_batch_size,
        max_length=task.max_length,
        progress=progress,
    )


def _scoring_runtimes(config: BenchmarkConfig, has_fp32_graph: bool) -> list[RuntimeSpec]:
    """The reference (PyTorch float32 on task.device) first, the CPU fp32 graph when there is
    one (the export's score check), then one runtime per timed backend, device, dtype and graph:
    each row carries the metric of what it timed (an fp16 row, fp16 accuracy)."""
    specs = [RuntimeSpec("torch", device=config.task.device)]
    specs += [RuntimeSpec("onnxruntime")] if has_fp32_graph else []
    specs += [scoring_spec(runtime) for runtime in config.runtimes]
    return list({spec.name: spec for spec in specs}.values())


def _check_float32_scores(
    point: str, specs: list[RuntimeSpec], scores: dict[str, MetricResult], tolerance: float
) -> None:
    reference = scores[specs[0].name]
    for spec in specs:
        score = scores[spec.name]
        if spec.dtype == "float32" and abs(score.value - reference.value) > tolerance:
            raise MetricMismatchError(
                f"{point}: {reference.name} is {reference.value:.4f} with PyTorch but "
                f"{score.value:.4f} with {spec.name} (tolerance {tolerance})"
            )


def evaluate_point(
    inputs: SweepInputs,
    built: PointModel,
    artifacts: dict[ArtifactKey, Any],
    progress: bool,
) -> PointModel:
    """The point with its task metric: the PyTorch reference, and the score of every timed
    runtime kind (`metrics_by_runtime`); a float32 runtime must score the reference within the
    tolerance, or `MetricMismatchError`. Unchanged when the sweep does not evaluate."""
    config = inputs.config
    if not config.evaluate:
        return built
    specs = _scoring_runtimes(config, ("onnx", "float32") in artifacts)
    scores = {}
    for spec in specs:
        artifact = (
            built.model if spec.artifact == "module" else artifacts[(spec.artifact, spec.dtype)]
        )
        scores[spec.name] = _score(inputs, load_runtime(spec, artifact).run, progress)
    _check_float32_scores(built.point.key, specs, scores, config.task.onnx_metric_tolerance)
    reference = scores[specs[0].name]
    record = dataclasses.replace(
        built.record,
        metric_name=reference.name,
        metric_value=float(reference.value),
        metric_source=specs[0].name,
        metrics_by_runtime={name: float(score.value) for name, score in scores.items()},
    )
    return dataclasses.replace(built, record=record)
