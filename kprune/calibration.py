"""Validate calibration batches and move them to the device once, in their given (fixed) order.

Each batch is a dict with `input_ids` [B, T] and `attention_mask` [B, T] (1 = token), optionally
`token_type_ids`; extra keys (labels, ...) ride along. Nothing is shuffled or resampled here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from kprune.errors import CalibrationError

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass
class PreparedBatch:
    inputs: dict[str, torch.Tensor]  # model inputs on the device
    extras: dict[str, torch.Tensor]  # other keys (labels, start/end positions) on the device
    token_mask: torch.Tensor  # [B, T] bool, True = real token
    num_tokens: int
    size: int


def _check_batch(position: int, batch: object) -> dict[str, torch.Tensor]:
    if not isinstance(batch, dict):
        raise CalibrationError(
            f"calibration batch {position} is a {type(batch).__name__}, not a dict"
        )
    for key in ("input_ids", "attention_mask"):
        if key not in batch:
            raise CalibrationError(
                f"calibration batch {position} has no '{key}' (keys: {sorted(batch)}); "
                "tokenize with return_attention_mask=True so padding can be excluded"
            )
    ids, mask = batch["input_ids"], batch["attention_mask"]
    if not isinstance(ids, torch.Tensor) or ids.dim() != 2 or ids.shape != mask.shape:
        raise CalibrationError(
            f"calibration batch {position}: input_ids and attention_mask must be [batch, seq] "
            f"tensors of one shape, got {getattr(ids, 'shape', None)} and "
            f"{getattr(mask, 'shape', None)}"
        )
    if bool((mask.sum(dim=1) == 0).any()):
        raise CalibrationError(f"calibration batch {position} has a sequence with no tokens")
    return batch


def prepare_batches(batches: Sequence[dict[str, torch.Tensor]], device: str) -> list[PreparedBatch]:
    """Checked copies of ``batches`` on ``device``; raises CalibrationError on bad input."""
    if len(batches) == 0:
        raise CalibrationError(
            "the calibration set is empty; pass at least one batch of tokenized training text"
        )
    prepared = []
    for position, raw in enumerate(batches):
        batch = _check_batch(position, raw)
        moved = {k: v.to(device) for k, v in batch.items() if isinstance(v, torch.Tensor)}
        token_mask = moved["attention_mask"].bool()
        prepared.append(
            PreparedBatch(
                inputs={k: v for k, v in moved.items() if k in MODEL_INPUTS},
                extras={k: v for k, v in moved.items() if k not in MODEL_INPUTS},
                token_mask=token_mask,
                num_tokens=int(token_mask.sum()),
                size=int(token_mask.shape[0]),
            )
        )
    return prepared


def mean_sequence_length(batches: Sequence[PreparedBatch]) -> float:
    """Mean non-pad tokens per sequence: the FLOPs model's default s."""
    return sum(b.num_tokens for b in batches) / sum(b.size for b in batches)
