"""Input and output names of an encoder task model, and deterministic dummy batches (numpy).

Pure helpers shared by export, runtimes and timing; numpy only at import (no torch), so a timing
subprocess for ONNX Runtime never loads torch. Never reads files or devices.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

TEXT_INPUTS: tuple[str, ...] = ("input_ids", "attention_mask", "token_type_ids")
QA_OUTPUTS: tuple[str, ...] = ("start_logits", "end_logits")
# Output axes that grow with the input: every output has a batch axis; QA and token outputs
# also have a sequence axis (dimension 1).
_SEQUENCE_OUTPUTS = frozenset(QA_OUTPUTS)
TIMED_PAD_LAST_ROWS = 1
"""Every timed batch's last row is half padding, for every backend. With an all-ones mask
PyTorch's attention drops the mask (and may pick another kernel) while ONNX Runtime and CUDA
graphs apply it; one padded row makes every backend time the same masked attention."""


def model_input_names(config: Any) -> tuple[str, ...]:
    """Inputs a HF encoder config needs: token types only when the embeddings use them."""
    uses_token_types = int(getattr(config, "type_vocab_size", 0) or 0) > 1
    names = ("input_ids", "attention_mask")
    return (*names, "token_type_ids") if uses_token_types else names


def model_output_names(outputs: Mapping[str, Any]) -> tuple[str, ...]:
    """Task outputs of a HF model output: start/end logits for QA, else ``logits``."""
    if all(name in outputs for name in QA_OUTPUTS):
        return QA_OUTPUTS
    if "logits" in outputs:
        return ("logits",)
    raise ValueError(
        f"model outputs {sorted(outputs)} have neither 'logits' nor start/end logits; "
        "export a task model (sequence classification or question answering)"
    )


def output_dynamic_axes(name: str, ndim: int) -> dict[int, str]:
    """ONNX dynamic axes of one output: batch always; sequence for QA/token-level outputs."""
    if name in _SEQUENCE_OUTPUTS or ndim == 3:
        return {0: "batch", 1: "sequence"}
    return {0: "batch"}


def dummy_batch(
    batch_size: int,
    seq_len: int,
    *,
    vocab_size: int,
    input_names: Sequence[str] = TEXT_INPUTS,
    pad_last_rows: int = 0,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Deterministic int64 inputs [batch_size, seq_len]; ``pad_last_rows`` rows are half padding.

    Padding sets attention_mask to 0 on the second half of the row (input ids there become 0), the
    layout a tokenizer produces for a shorter text.
    """
    if batch_size < 1 or seq_len < 1:
        raise ValueError(f"batch_size and seq_len must be >= 1, got {batch_size}, {seq_len}")
    unknown = set(input_names) - set(TEXT_INPUTS)
    if unknown:
        raise ValueError(f"unknown input names {sorted(unknown)}; known: {TEXT_INPUTS}")
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab_size, size=(batch_size, seq_len), dtype=np.int64)
    mask = np.ones((batch_size, seq_len), dtype=np.int64)
    keep = _kept_tokens(seq_len)
    for row in range(max(0, batch_size - pad_last_rows), batch_size):
        mask[row, keep:] = 0
        ids[row, keep:] = 0
    types = np.zeros((batch_size, seq_len), dtype=np.int64)
    arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {name: arrays[name] for name in input_names}


def _kept_tokens(seq_len: int) -> int:
    return max(1, seq_len // 2)


def padded_token_fraction(batch_size: int, seq_len: int, pad_last_rows: int) -> float:
    """Share of positions that are padding in the `dummy_batch` of these arguments."""
    rows = min(max(pad_last_rows, 0), batch_size)
    return rows * (seq_len - _kept_tokens(seq_len)) / (batch_size * seq_len)
