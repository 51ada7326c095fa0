"""Deterministic, token-budgeted calibration batches for pruning, drawn from the train split.

Draws train examples in a seeded random order, without replacement (one permutation) or with
it (independent uniform draws); never runs a model.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
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


def _draw_order(size: int, seed: int, replacement: bool) -> Iterator[np.ndarray]:
    """Chunks of train indices in draw order, at most `size` draws in all (the official code
    caps its draw count at the train size): one seeded permutation (each row at most once), or
    independent uniform draws from the same generator (rows may repeat)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(size) if not replacement else rng.integers(0, size, size=size)
    for start in range(0, size, _ENCODE_CHUNK):
        yield order[start : start + _ENCODE_CHUNK]


def _take_rows(
    task_data: TaskData,
    tokenizer: Any,
    num_tokens: int,
    max_length: int,
    seed: int,
    replacement: bool,
) -> list[tuple[Row, Targets]]:
    """Rows in seeded draw order until their real-token count reaches num_tokens."""
    taken: list[tuple[Row, Targets]] = []
    total = 0
    for indices in _draw_order(len(task_data.train), seed, replacement):
        chunk = [task_data.train[i] for i in indices]
        for row, targets in _encode(task_data, tokenizer, chunk, max_length):
            taken.append((row, targets))
            total += int(sum(row["attention_mask"]))
            if total >= num_tokens:
                return taken
    log.warning(
        "task %s: %d draws (the train split's size) give only %d tokens at max_length %d, fewer "
        "than the %d requested; using them",
        task_data.name,
        len(task_data.train),
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
    Rows are batched in draw order (each batch a random sample, as the official code draws
    them); spec.sort_by_length groups rows of similar length instead (stable sort of the drawn
    rows). spec.replacement draws rows independently, so a row may appear twice.
    """
    num_tokens, batch_size, seed = spec.num_tokens, spec.batch_size, spec.seed
    if not task_data.train:
        raise EmptySplitError(f"task {task_data.name!r}: no train examples to calibrate on")
    rows = _take_rows(task_data, tokenizer, num_tokens, max_length, seed, spec.replacement)
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
