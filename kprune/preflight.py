"""Checks every pruning method runs before touching a model: eval mode, device availability.
It only raises; it never changes the model or picks a device.
"""

from __future__ import annotations

import torch
from torch import nn

from kprune.errors import ConfigError, ModelStateError


def check_eval_mode(model: nn.Module) -> None:
    """Refuse a model in training mode: dropout would make every statistic random."""
    if model.training:
        raise ModelStateError(
            f"{type(model).__name__} is in training mode (dropout active), so knowledge scores "
            "and least-squares targets would be noisy; call model.eval() before pruning"
        )


def check_device(device: str) -> None:
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"device={device!r} was requested but CUDA is not available on this machine "
            "(torch.cuda.is_available() is False); use device='cpu'"
        )
