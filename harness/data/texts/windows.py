"""Calibration batches for a causal LM: whole windows of consecutive tokens cut from one token
stream, drawn at random as the config's calibration section says.

The stream is cut into non-overlapping windows of `window_tokens` (the tail shorter than a
window is dropped); `ceil(num_tokens / window_tokens)` of them are drawn with numpy's seeded
`RandomState.choice`, with or without replacement as `CalibrationSpec.replacement` says (the
official K-prune code's draw), and batched in draw order. Every position is a real token (no
padding), so the causal KL reads all of them. Pure: no files or models.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from harness.config.schema import CalibrationSpec
from harness.errors import UsageError


class CalibrationTextError(UsageError):
    """The calibration text is too short for the windows or tokens asked for."""


def calibration_windows(
    stream: np.ndarray, window_tokens: int, spec: CalibrationSpec
) -> list[dict[str, torch.Tensor]]:
    """Batches of `spec.batch_size` windows (`input_ids`, all-ones `attention_mask`)."""
    available = len(stream) // window_tokens
    wanted = math.ceil(spec.num_tokens / window_tokens)
    if available == 0:
        raise CalibrationTextError(
            f"the calibration text has {len(stream)} tokens, fewer than one window of "
            f"{window_tokens}; set calibration.max_length to a shorter window"
        )
    if wanted > available and not spec.replacement:
        raise CalibrationTextError(
            f"calibration.num_tokens={spec.num_tokens} needs {wanted} windows of {window_tokens} "
            f"tokens, but the calibration text has {available} without repeats; lower "
            "calibration.num_tokens or set calibration.replacement = true"
        )
    rng = np.random.RandomState(spec.seed)
    picks = rng.choice(available, size=wanted, replace=spec.replacement)
    windows = stream[: available * window_tokens].reshape(available, window_tokens)
    batches = []
    for begin in range(0, wanted, spec.batch_size):
        ids = torch.from_numpy(
            np.ascontiguousarray(windows[picks[begin : begin + spec.batch_size]])
        )
        batches.append({"input_ids": ids, "attention_mask": torch.ones_like(ids)})
    return batches
