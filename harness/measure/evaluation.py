"""Task metric of a predictor (a torch model or an ONNX Runtime session) on the dev split.

A predictor maps int64 numpy inputs to numpy logits, so every backend is scored the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from harness.data.encoding import collate, pad_token_id, tokenize_texts
from harness.data.qa_encoding import build_qa_features, default_doc_stride, predict_answer
from harness.data.tasks.base import (
    EmptySplitError,
    LabelMismatchError,
    QAExample,
    TaskData,
    TextExample,
)
from harness.measure import metrics
from harness.runtimes.base import Predictor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricResult:
    """Primary metric `name` = `value` over `count` dev examples; secondary metrics in extras."""

    name: str
    value: float
    extras: dict[str, float]
    count: int


def _batches(rows: Sequence[Any], batch_size: int, progress: bool, what: str) -> Any:
    starts = range(0, len(rows), batch_size)
    return tqdm(starts, desc=what, unit="batch", disable=not progress)


def _check_logits(output: dict[str, np.ndarray], task_data: TaskData) -> np.ndarray:
    if "logits" not in output:
        raise LabelMismatchError(
            f"task {task_data.name!r} needs 'logits' but the predictor returned {sorted(output)}"
        )
    logits = output["logits"]
    if logits.ndim != 2 or logits.shape[1] != task_data.num_labels:
        raise LabelMismatchError(
            f"model head has {logits.shape[-1]} outputs but task {task_data.name!r} "
            f"({task_data.kind}) has {task_data.num_labels} labels"
        )
    return logits


def _text_metric(
    predictor: Predictor,
    task_data: TaskData,
    tokenizer: Any,
    batch_size: int,
    max_length: int,
    progress: bool,
) -> MetricResult:
    dev = [e for e in task_data.dev if isinstance(e, TextExample)]
    rows = tokenize_texts(tokenizer, dev, max_length)
    pad_id = pad_token_id(tokenizer)
    # Batches of similar length pad less (about half the positions on short-text tasks); padding
    # is masked, so each example's logits do not depend on its batch. Scores go back to dev order.
    order = np.argsort([len(row["input_ids"]) for row in rows], kind="stable")
    by_length = [rows[i] for i in order]
    outputs = [
        _check_logits(predictor(collate(by_length[s : s + batch_size], pad_id)), task_data)
        for s in _batches(by_length, batch_size, progress, f"eval {task_data.name}")
    ]
    logits = np.empty_like(np.concatenate(outputs))
    logits[order] = np.concatenate(outputs)
    labels = np.asarray([e.label for e in dev])
    if task_data.kind == "regression":
        scores = logits[:, 0]
        pearson = metrics.pearson(scores, labels)
        return MetricResult(
            "spearman", metrics.spearman(scores, labels), {"pearson": pearson}, len(dev)
        )
    predictions = logits.argmax(axis=1)
    macro_f1 = metrics.macro_f1(predictions, labels)
    return MetricResult(
        "accuracy", metrics.accuracy(predictions, labels), {"macro_f1": macro_f1}, len(dev)
    )


def _check_spans(output: dict[str, np.ndarray], task_data: TaskData) -> tuple[np.ndarray, ...]:
    if "start_logits" not in output or "end_logits" not in output:
        raise LabelMismatchError(
            f"QA task {task_data.name!r} needs start_logits/end_logits, got {sorted(output)}"
        )
    return output["start_logits"], output["end_logits"]


def _qa_metric(
    predictor: Predictor,
    task_data: TaskData,
    tokenizer: Any,
    batch_size: int,
    max_length: int,
    progress: bool,
) -> MetricResult:
    dev = [e for e in task_data.dev if isinstance(e, QAExample)]
    features = build_qa_features(tokenizer, dev, max_length, default_doc_stride(max_length))
    pad_id = pad_token_id(tokenizer)
    logits: list[tuple[np.ndarray, np.ndarray]] = []
    for s in _batches(features, batch_size, progress, f"eval {task_data.name}"):
        batch = features[s : s + batch_size]
        starts, ends = _check_spans(predictor(collate([f.row for f in batch], pad_id)), task_data)
        logits.extend(zip(starts, ends, strict=True))
    by_example: dict[int, list[int]] = {}
    for index, feature in enumerate(features):
        by_example.setdefault(feature.example_index, []).append(index)
    allow_null = any(example.is_impossible for example in dev)
    exact, f1 = [], []
    for example_index, example in enumerate(dev):
        indices = by_example.get(example_index, [])
        answer = predict_answer(
            example,
            [features[i] for i in indices],
            [logits[i] for i in indices],
            allow_null=allow_null,
        )
        exact.append(metrics.exact_match(answer, example.answer_texts))
        f1.append(metrics.squad_f1(answer, example.answer_texts))
    return MetricResult("f1", float(np.mean(f1)), {"exact_match": float(np.mean(exact))}, len(dev))


def evaluate(
    predictor: Predictor,
    task_data: TaskData,
    tokenizer: Any,
    *,
    batch_size: int,
    max_length: int,
    progress: bool = False,
) -> MetricResult:
    """Primary metric on the dev split: accuracy (classification), spearman, or SQuAD f1."""
    if not task_data.dev:
        raise EmptySplitError(f"task {task_data.name!r}: the dev split is empty")
    metric = _qa_metric if task_data.kind == "qa" else _text_metric
    result = metric(predictor, task_data, tokenizer, batch_size, max_length, progress)
    log.info(
        "%s: %s = %.4f on %d examples", task_data.name, result.name, result.value, result.count
    )
    return result
