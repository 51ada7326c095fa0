"""The stages of one sweep point as functions of explicit inputs: load the sweep's inputs, build
(prune) the point's model, export it, evaluate it, and turn timings into records.

Called only by `harness.sweep.run`, which owns the loop, the results file and error policy.
Timing lives in `harness.sweep.timing`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn
from tqdm import tqdm

from harness.data.calibration import sample_calibration_batches
from harness.config.schema import DENSE_METHOD, BenchmarkConfig, method_config
from harness.errors import HarnessError
from harness.measure.evaluation import MetricResult, evaluate, torch_predictor
from harness.export.onnx import ExportedModel, export_onnx
from harness.export.io_names import model_input_names
from harness.models.load import ModelSpec, load_model
from harness.sweep.plan import EXPORTED_BACKENDS, Point, Trial
from harness.runtimes.ort_runtime import ort_predictor
from harness.data.tasks import TaskData, TaskSpec, load_task, synthetic
from kprune import count_parameters, encoder_shape, prune

log = logging.getLogger(__name__)

TOKENIZER_FALLBACKS: dict[str, Callable[[], Any]] = {synthetic.NAME: synthetic.tokenizer}
"""Task -> tokenizer for models that ship none (random weights)."""
EXPORT_NAMES = {"float32": "model", "float16": "model16"}  # model16 also writes model16_fp16


class MetricMismatchError(HarnessError):
    """The exported graph scores differently from the PyTorch model beyond the tolerance."""


class TokenizerMissingError(HarnessError):
    """The model ships no tokenizer and the task has no fallback tokenizer."""


@dataclass(frozen=True)
class SweepInputs:
    """Everything loaded once per sweep: model, tokenizer, task, calibration batches."""

    config: BenchmarkConfig
    model: nn.Module
    tokenizer: Any
    task: TaskData
    eval_task: TaskData
    batches: list[Any]
    input_names: tuple[str, ...]
    vocab_size: int
    description: str


@dataclass(frozen=True)
class PointModel:
    """The model of one point (the base model for dense) and what pruning produced."""

    point: Point
    model: nn.Module
    achieved_flops_ratio: float
    params: int
    heads_per_layer: list[int]
    neurons_per_layer: list[int]
    prune_seconds: float | None = None
    sublayers: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    untuned_sublayers: list[int] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class Subject:
    """A model to time: the point's model, its ONNX exports by dtype, its artifacts folder."""

    built: PointModel
    exports: dict[str, ExportedModel]
    folder: Path


def _tokenizer(loaded_tokenizer: Any, task: str) -> Any:
    if loaded_tokenizer is not None:
        return loaded_tokenizer
    if task not in TOKENIZER_FALLBACKS:
        raise TokenizerMissingError(
            f"the model has no tokenizer and task {task!r} has no fallback "
            f"(tasks with one: {sorted(TOKENIZER_FALLBACKS)})"
        )
    log.info("the model ships no tokenizer; using the %s task's tokenizer", task)
    return TOKENIZER_FALLBACKS[task]()


def task_spec(config: BenchmarkConfig) -> TaskSpec:
    """Where the sweep's task data comes from: the bundled asset or the user's own files."""
    t = config.task
    return TaskSpec(
        t.name,
        data_dir=t.data_dir,
        path=t.path,
        source=t.source,  # type: ignore[arg-type]  # validated by TaskSection
        max_length=t.max_length,
    )


def load_inputs(config: BenchmarkConfig, *, progress: bool, calibrate: bool) -> SweepInputs:
    """Load the task, the base model (fine-tuning it on first use) and the calibration batches."""
    task = load_task(task_spec(config))
    m = config.model
    name = m.name or (config.task.name if m.source == "finetuned" else None)
    spec = ModelSpec(
        m.source,  # type: ignore[arg-type]  # validated against ModelSource by ModelSection
        name=name,
        path=m.path,
        task_kind=task.kind,
        num_labels=task.num_labels,
        seed=m.seed,
    )
    loaded = load_model(spec, progress=progress)
    tokenizer = _tokenizer(loaded.tokenizer, config.task.name)
    c = config.calibration
    batches = (
        sample_calibration_batches(
            task,
            tokenizer,
            num_tokens=c.num_tokens,
            batch_size=c.batch_size,
            max_length=c.max_length,
            seed=c.seed,
            include_labels=True,
        )
        if calibrate
        else []
    )
    n = config.task.max_eval_examples
    eval_task = dataclasses.replace(task, dev=task.dev[:n]) if n else task
    model_config: Any = loaded.model.config
    names = model_input_names(model_config)
    return SweepInputs(
        config,
        loaded.model,
        tokenizer,
        task,
        eval_task,
        batches,
        names,
        int(model_config.vocab_size),
        loaded.description,
    )


def build_point(inputs: SweepInputs, point: Point, folder: Path, progress: bool) -> PointModel:
    """The dense base model, or the model pruned once by the point's method (per-sublayer bar)."""
    if point.is_dense:
        shape = encoder_shape(inputs.model)
        return PointModel(
            point,
            inputs.model,
            1.0,
            count_parameters(inputs.model),
            list(shape.heads_per_layer),
            list(shape.neurons_per_layer),
        )
    config = method_config(inputs.config, point.method, point.target_flops_ratio)
    total = 2 * encoder_shape(inputs.model).num_layers
    with tqdm(
        total=total, desc=f"prune {point.key}", unit="sublayer", disable=not progress, leave=False
    ) as bar:
        result = prune(inputs.model, inputs.batches, config, on_sublayer=lambda _: bar.update(1))
    model = result.model.to("cpu").eval()
    shape = encoder_shape(model)
    sublayers = [dataclasses.asdict(s) for s in result.sublayers]
    built = PointModel(
        point,
        model,
        float(result.flops.ratio),
        count_parameters(model),
        list(shape.heads_per_layer),
        list(shape.neurons_per_layer),
        float(result.seconds),
        sublayers,
        list(result.untuned_sublayers),
    )
    _write_prune_log(folder / "prune_log.json", built, result)
    return built


def _write_prune_log(path: Path, built: PointModel, result: Any) -> None:
    from harness.results.atomic_files import replace_text

    log_doc = {
        "point": built.point.key,
        "method": result.method,
        "config": dataclasses.asdict(result.config),
        "flops": {"ratio": built.achieved_flops_ratio, **dataclasses.asdict(result.flops)},
        "heads_per_layer": built.heads_per_layer,
        "neurons_per_layer": built.neurons_per_layer,
        "seconds": built.prune_seconds,
        "untuned_sublayers": built.untuned_sublayers,
        "sublayers": built.sublayers,
    }
    replace_text(path, json.dumps(log_doc, indent=1, default=str) + "\n")


def dense_reference(inputs: SweepInputs, trials: Sequence[Trial], folder: Path) -> Subject:
    """The dense model (and the exports `trials` need) to time interleaved with pruned points."""
    built = build_point(inputs, Point(DENSE_METHOD, 1.0), folder, progress=False)
    return Subject(built, export_point(inputs, built, trials, folder), folder)


def export_point(
    inputs: SweepInputs, built: PointModel, trials: Sequence[Trial], folder: Path
) -> dict[str, ExportedModel]:
    """ONNX exports by dtype, only those an exported-graph trial needs (or all with export)."""
    dtypes = {t.runtime.dtype for t in trials if t.runtime.backend in EXPORTED_BACKENDS}
    if inputs.config.export:
        dtypes.add("float32")
    return {
        dtype: export_onnx(
            built.model,
            folder,
            fp16=dtype == "float16",
            name=EXPORT_NAMES[dtype],
            input_names=inputs.input_names,
        )
        for dtype in sorted(dtypes)
    }


def evaluate_point(
    inputs: SweepInputs, built: PointModel, exports: dict[str, ExportedModel], progress: bool
) -> MetricResult | None:
    """Task metric with PyTorch; the fp32 ONNX graph must score the same within tolerance."""
    task = inputs.config.task
    if not inputs.config.evaluate:
        return None
    score: dict[str, Any] = dict(
        batch_size=task.eval_batch_size, max_length=task.max_length, progress=progress
    )
    try:
        metric = evaluate(
            torch_predictor(built.model, task.device), inputs.eval_task, inputs.tokenizer, **score
        )
    finally:
        built.model.to("cpu")
    if "float32" in exports:
        onnx_metric = evaluate(
            ort_predictor(exports["float32"].path), inputs.eval_task, inputs.tokenizer, **score
        )
        if abs(onnx_metric.value - metric.value) > task.onnx_metric_tolerance:
            raise MetricMismatchError(
                f"{built.point.key}: {metric.name} is {metric.value:.4f} with PyTorch but "
                f"{onnx_metric.value:.4f} with ONNX Runtime "
                f"(tolerance {task.onnx_metric_tolerance})"
            )
    return metric
