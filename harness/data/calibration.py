"""Deterministic, token-budgeted calibration batches for pruning, drawn from the train split.

Samples examples WITHOUT replacement (one seeded permutation) and never runs a model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from harness.config.schema import CalibrationSpec
from harness.data.encoding import (
    Row,
    collate,
    label_tensor,
    pad_token_id,
    to_tensors,
    tokenize_texts,
)
from harness.data.qa_encoding import build_qa_features, default_doc_stride
from harness.data.tasks.base import EmptySplitError, Example, QAExample, TaskData, TextExample

log = logging.getLogger(__name__)

_ENCODE_CHUNK = 256  # examples tokenized per tokenizer call; does not change the result
Targets = dict[str, int | float]


def _encode(
    task_data: TaskData, tokenizer: Any, examples: Sequence[Example], max_length: int
) -> list[tuple[Row, Targets]]:
    if task_data.kind == "qa":
        qa = [e for e in examples if isinstance(e, QAExample)]
        features = build_qa_features(tokenizer, qa, max_length, default_doc_stride(max_length))
        return [
            (f.row, {"start_positions": f.start_position, "end_positions": f.end_position})
            for f in features
        ]
    texts = [e for e in examples if isinstance(e, TextExample)]
    rows = tokenize_texts(tokenizer, texts, max_length)
    return [(row, {"labels": e.label}) for row, e in zip(rows, texts, strict=True)]


def _take_rows(
    task_data: TaskData, tokenizer: Any, num_tokens: int, max_length: int, seed: int
) -> list[tuple[Row, Targets]]:
    """Rows in seeded-permutation order until their real-token count reaches num_tokens."""
    order = np.random.default_rng(seed).permutation(len(task_data.train))
    taken: list[tuple[Row, Targets]] = []
    total = 0
    for start in range(0, len(order), _ENCODE_CHUNK):
        chunk = [task_data.train[i] for i in order[start : start + _ENCODE_CHUNK]]
        for row, targets in _encode(task_data, tokenizer, chunk, max_length):
            taken.append((row, targets))
            total += int(sum(row["attention_mask"]))
            if total >= num_tokens:
                return taken
    log.warning(
        "task %s: train split has only %d tokens at max_length %d, fewer than the %d requested; "
        "using all of it",
        task_data.name,
        total,
        max_length,
        num_tokens,
    )
    return taken


def _batch(
    rows: Sequence[tuple[Row, Targets]], pad_id: int, kind: str, include_labels: bool
) -> dict[str, torch.Tensor]:
    batch = to_tensors(collate([row for row, _ in rows], pad_id))
    if include_labels:
        for key in rows[0][1]:
            values = [targets[key] for _, targets in rows]
            batch[key] = label_tensor(values, kind if key == "labels" else "classification")
    return batch


def sample_calibration_batches(
    task_data: TaskData,
    tokenizer: Any,
    spec: CalibrationSpec,
    *,
    max_length: int,
    include_labels: bool = True,
) -> list[dict[str, torch.Tensor]]:
    """Batches of train examples totalling >= spec.num_tokens real (non-pad) tokens, fixed order.

    Keys: input_ids [B,T] int64, attention_mask [B,T] (1 = real token), token_type_ids when the
    tokenizer makes them, and labels [B] (int64, float32 for regression) or start_positions /
    end_positions [B] for QA. T is the longest row of each batch (dynamic padding).
    spec.sort_by_length groups rows of similar length into batches (stable sort of the sampled
    rows), which removes most padding and so most of the pruning cost on short-text tasks.
    """
    num_tokens, batch_size, seed = spec.num_tokens, spec.batch_size, spec.seed
    if not task_data.train:
        raise EmptySplitError(f"task {task_data.name!r}: no train examples to calibrate on")
    rows = _take_rows(task_data, tokenizer, num_tokens, max_length, seed)
    if spec.sort_by_length:
        rows = sorted(rows, key=lambda item: int(sum(item[0]["attention_mask"])))
    pad_id = pad_token_id(tokenizer)
    batches = [
        _batch(rows[start : start + batch_size], pad_id, task_data.kind, include_labels)
        for start in range(0, len(rows), batch_size)
    ]
    log.info(
        "calibration: %d batches, %d sequences from task %s (seed %d)",
        len(batches),
        len(rows),
        task_data.name,
        seed,
    )
    return batches
