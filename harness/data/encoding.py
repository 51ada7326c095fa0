"""Tokenize text examples into model inputs and pad each batch to its own longest row.

Pure data shaping (lists and numpy/torch arrays); runs no model. QA features: qa_encoding.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from harness.data.tasks.base import TextExample

log = logging.getLogger(__name__)

Row = dict[str, Any]
"""One tokenized sequence: input_ids, attention_mask, maybe token_type_ids (lists of int)."""

MODEL_INPUT_KEYS = ("input_ids", "attention_mask", "token_type_ids")


def tokenize_texts(tokenizer: Any, examples: Sequence[TextExample], max_length: int) -> list[Row]:
    """One unpadded row per example, truncated to max_length tokens (pairs: longest first)."""
    texts = [example.text for example in examples]
    pairs = [example.text_pair for example in examples]
    has_pairs = any(pair is not None for pair in pairs)
    if has_pairs and any(pair is None for pair in pairs):
        raise ValueError("a batch mixes single sentences and sentence pairs")
    encoded = tokenizer(
        texts,
        pairs if has_pairs else None,
        truncation=True,
        max_length=max_length,
        padding=False,
    )
    keys = [key for key in MODEL_INPUT_KEYS if key in encoded]
    return [{key: encoded[key][i] for key in keys} for i in range(len(texts))]


def collate(rows: Sequence[Row], pad_token_id: int) -> dict[str, np.ndarray]:
    """Stack rows into int64 [B, T] arrays, T = the longest row; pads right (mask 0)."""
    if not rows:
        raise ValueError("cannot collate an empty batch")
    width = max(len(row["input_ids"]) for row in rows)
    batch: dict[str, np.ndarray] = {}
    for key in (k for k in MODEL_INPUT_KEYS if k in rows[0]):
        fill = pad_token_id if key == "input_ids" else 0
        array = np.full((len(rows), width), fill, dtype=np.int64)
        for i, row in enumerate(rows):
            array[i, : len(row[key])] = row[key]
        batch[key] = array
    return batch


def to_tensors(batch: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """numpy batch -> torch tensors (shares memory)."""
    return {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in batch.items()}


def label_tensor(labels: Sequence[int | float], kind: str) -> torch.Tensor:
    """[B] int64 class indices, or [B] float32 targets for regression."""
    dtype = torch.float32 if kind == "regression" else torch.int64
    return torch.tensor(list(labels), dtype=dtype)


def pad_token_id(tokenizer: Any) -> int:
    """The tokenizer's pad id (0 when it defines none, as BERT vocabularies do)."""
    pad_id = getattr(tokenizer, "pad_token_id", None)
    return 0 if pad_id is None else int(pad_id)
