"""Extractive-QA features (offsets, doc stride, start/end labels) and span post-processing.

Needs a fast tokenizer (offset mapping); runs no model: logits come in as numpy arrays.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.data.encoding import Row
from harness.data.tasks.base import QAExample
from harness.errors import UsageError

log = logging.getLogger(__name__)

Span = tuple[int, int]


class TokenizerNotFastError(UsageError):
    """QA preprocessing needs a fast tokenizer (character offsets)."""


def default_doc_stride(max_length: int) -> int:
    """Overlap, in tokens, between consecutive windows of one long context."""
    return max_length // 4


@dataclass(frozen=True)
class QAFeature:
    """One window of one example; `offsets[t]` is the context char span of token t, else None."""

    example_index: int
    row: Row
    offsets: tuple[Span | None, ...]
    start_position: int  # 0 ([CLS]) when the answer is impossible or outside this window
    end_position: int


def _token_span(offsets: Sequence[Span | None], start_char: int, end_char: int) -> Span:
    """Token indices covering [start_char, end_char) or (0, 0) when the window misses it."""
    inside = [(t, span) for t, span in enumerate(offsets) if span is not None]
    if not inside or inside[0][1][0] > start_char or inside[-1][1][1] < end_char:
        return 0, 0
    start = next(t for t, (_, stop) in inside if stop > start_char)
    end = next(t for t, (begin, _) in reversed(inside) if begin < end_char)
    return start, max(start, end)


def build_qa_features(
    tokenizer: Any, examples: Sequence[QAExample], max_length: int, doc_stride: int
) -> list[QAFeature]:
    """Question + context windows of max_length tokens overlapping by doc_stride tokens."""
    if not getattr(tokenizer, "is_fast", False):
        raise TokenizerNotFastError("QA needs a fast tokenizer (return_offsets_mapping)")
    encoded = tokenizer(
        [example.question for example in examples],
        [example.context for example in examples],
        truncation="only_second",
        max_length=max_length,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )
    keys = [key for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoded]
    features = []
    for i, example_index in enumerate(encoded["overflow_to_sample_mapping"]):
        sequence_ids = encoded.sequence_ids(i)
        offsets = tuple(
            (int(span[0]), int(span[1])) if seq == 1 else None
            for span, seq in zip(encoded["offset_mapping"][i], sequence_ids, strict=True)
        )
        example = examples[example_index]
        start, end = 0, 0
        if example.answer_texts and not example.is_impossible:
            first = example.answer_starts[0]
            start, end = _token_span(offsets, first, first + len(example.answer_texts[0]))
        row = {key: encoded[key][i] for key in keys}
        features.append(QAFeature(example_index, row, offsets, start, end))
    return features


def _best_in_feature(
    feature: QAFeature,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    max_answer_tokens: int,
    n_best: int = 20,
) -> tuple[float, Span | None]:
    """Best (score, char span) over valid token spans of one feature."""
    length = len(feature.offsets)
    starts = np.argsort(start_logits[:length])[::-1][:n_best]
    ends = np.argsort(end_logits[:length])[::-1][:n_best]
    best: tuple[float, Span | None] = (-np.inf, None)
    for s in starts:
        for e in ends:
            first, last = feature.offsets[s], feature.offsets[e]
            if first is None or last is None or e < s or e - s + 1 > max_answer_tokens:
                continue
            score = float(start_logits[s] + end_logits[e])
            if score > best[0]:
                best = (score, (first[0], last[1]))
    return best


def predict_answer(
    example: QAExample,
    features: Sequence[QAFeature],
    logits: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    max_answer_tokens: int = 30,
    allow_null: bool = False,
) -> str:
    """Answer text from per-feature (start, end) logits; "" when null wins (SQuAD v2)."""
    best_score, best_span = -np.inf, None
    null_score = np.inf
    for feature, (start_logits, end_logits) in zip(features, logits, strict=True):
        null_score = min(null_score, float(start_logits[0] + end_logits[0]))
        score, span = _best_in_feature(feature, start_logits, end_logits, max_answer_tokens)
        if span is not None and score > best_score:
            best_score, best_span = score, span
    if best_span is None or (allow_null and null_score > best_score):
        return ""
    return example.context[best_span[0] : best_span[1]]
