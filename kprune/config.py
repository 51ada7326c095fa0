"""Kprune configuration: one frozen dataclass, defaults in one place, validated on construction.

Nothing here touches devices, files or the environment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from kprune.errors import ConfigError

TaskKind = Literal["auto", "classification", "regression", "qa"]


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
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name}={value!r} must be {bound}")


@dataclass(frozen=True)
class KpruneConfig:
    """Settings of one Kprune run (Park, Choi & Kang, ICLR 2024; spec §9 for the defaults)."""

    target_flops_ratio: float = 0.5
    """Kept/original encoder FLOPs in (0, 1]; the paper's "reduced FLOPs" c is 1 - this."""
    pred_weight: float = 1.0
    """lambda_pred: weight of predictive (label-level) knowledge."""
    rep_weight: float = 2.5e-4
    """lambda_rep: weight of representational (sublayer-output) knowledge; task-dependent."""
    head_weight: float | None = None
    """mu: balance coefficient of head scores; None means the head size d_h (64 for BERT-base)."""
    temperature: float = 2.0
    """T (gamma in the paper): softmax temperature of the distillation KL."""
    tune_weights: bool = True
    """KPWT: refit each pruned sublayer's output projection by least squares."""
    seq_len: float | None = None
    """Sequence length s of the FLOPs model; None = mean non-pad length of the calibration set."""
    task: TaskKind = "auto"
    """Loss for predictive knowledge; auto reads it from the model's head and num_labels."""
    cache_inputs: bool = True
    """Cache each target sublayer's input (fast path); False re-runs the full model every step."""
    ridge_ratio: float = 1e-6
    """Ridge added (times mean diagonal of the Gram matrix) when Cholesky fails."""
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_ratio(self.target_flops_ratio)
        check_positive(self.pred_weight, "pred_weight", allow_zero=True)
        check_positive(self.rep_weight, "rep_weight", allow_zero=True)
        check_positive(self.head_weight, "head_weight")
        check_positive(self.temperature, "temperature")
        check_positive(self.seq_len, "seq_len")
        check_positive(self.ridge_ratio, "ridge_ratio", allow_zero=True)
        if self.pred_weight == 0 and self.rep_weight == 0:
            raise ConfigError("pred_weight and rep_weight are both 0: every score would be 0")
        if self.task not in ("auto", "classification", "regression", "qa"):
            raise ConfigError(f"task={self.task!r}; use auto, classification, regression or qa")
        if not self.device.startswith(("cpu", "cuda")):
            raise ConfigError(f"device={self.device!r}; use 'cpu' or 'cuda[:N]'")
