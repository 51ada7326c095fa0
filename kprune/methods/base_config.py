"""The settings every pruning method shares (FLOPs or parameter target, FLOPs-model s, seed,
device): one frozen dataclass base holding their defaults and validation, plus the value checks
method configs reuse.
Nothing here touches devices, files or the environment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from kprune.errors import ConfigError

ParamsScope = Literal["model", "sublayers"]


def check_ratio(value: float, name: str = "target_flops_ratio") -> None:
    """Raise ConfigError unless ``value`` is a kept/original ratio in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number in (0, 1], got {value!r}")
    if math.isnan(value) or not 0.0 < value <= 1.0:
        raise ConfigError(
            f"{name}={value!r} is outside (0, 1]: it is the kept/original FLOPs ratio "
            "(0.6 keeps 60% of the FLOPs); pass a value such as 0.5"
        )


def check_positive(value: float | None, name: str, allow_zero: bool = False) -> None:
    """Raise ConfigError unless ``value`` is None or a number > 0 (>= 0 with allow_zero)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name}={value!r} must be {bound}")


ROUND_TO_CHOICES = (8, 16, 32, 64)
"""Widths fp16 tensor cores and vectorised CPU kernels like (multiples of 8 elements and up)."""


def check_round_to(value: int | None) -> None:
    """Raise ConfigError unless ``value`` is None or one of ROUND_TO_CHOICES."""
    if value is None:
        return
    if isinstance(value, bool) or value not in ROUND_TO_CHOICES:
        raise ConfigError(
            f"round_to={value!r}; use one of {list(ROUND_TO_CHOICES)}, or leave it unset "
            "(no rounding)"
        )


def check_device_name(device: str) -> None:
    """Only the spelling; whether CUDA is present is checked when a run starts (preflight)."""
    if not isinstance(device, str) or not device.startswith(("cpu", "cuda")):
        raise ConfigError(f"device={device!r}; use 'cpu' or 'cuda[:N]'")


@dataclass(frozen=True)
class BudgetFields:
    """Fields of every method config; each method's docstring says what ``seed`` means to it.

    Subclasses add their own fields (all with defaults) and call ``super().__post_init__()``.
    """

    target_flops_ratio: float = 0.5
    """Kept/original encoder FLOPs in (0, 1] under Kprune's FLOPs model (spec §7); the paper's
    "reduced FLOPs" c is 1 - this."""
    seq_len: float | None = None
    """Sequence length s of the FLOPs model; None = mean non-pad length of the calibration set."""
    seed: int = 0
    device: str = "cpu"
    round_to: int | None = None
    """Round each sublayer's kept width DOWN to a multiple of this (8, 16, 32 or 64), so the
    pruned matmuls stay aligned for fp16 tensor cores: FFN neuron counts directly; head counts so
    that heads·head_size is a multiple (heads in steps of round_to / gcd(round_to, head_size)).
    Rounding only drops units (the lowest-scored), so the FLOPs budget still holds and the
    achieved ratio may fall below the target. None: no rounding."""
    target_params_ratio: float | None = None
    """Budget in parameters instead of FLOPs: kept/original parameters counted over
    ``params_scope``, in (0, 1]; the paper rebuttal's "5-20% of parameters pruned" is 0.95-0.80.
    Units are then scored per parameter instead of per FLOP. One budget per run: with it set,
    target_flops_ratio must be 1.0. None: the FLOPs budget applies."""
    params_scope: ParamsScope = "model"
    """What target_params_ratio counts (kprune.params): "model" = every parameter, each shared
    tensor once (tied input/output embeddings count once, untied twice), with what no unit
    carries (embeddings, norms, output biases, heads) counted as kept; "sublayers" = only what
    the attention units and FFN neurons carry."""

    def __post_init__(self) -> None:
        check_ratio(self.target_flops_ratio)
        if self.target_params_ratio is not None:
            check_ratio(self.target_params_ratio, "target_params_ratio")
            if self.target_flops_ratio != 1.0:
                raise ConfigError(
                    f"target_params_ratio={self.target_params_ratio!r} and target_flops_ratio="
                    f"{self.target_flops_ratio!r} both set a budget; pass target_flops_ratio=1.0 "
                    "to budget in parameters, or leave target_params_ratio unset"
                )
        if self.params_scope not in ("model", "sublayers"):
            raise ConfigError(f"params_scope={self.params_scope!r}; use 'model' or 'sublayers'")
        check_positive(self.seq_len, "seq_len")
        check_device_name(self.device)
        check_round_to(self.round_to)
