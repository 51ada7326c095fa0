"""What a pruning method returns: dense pruned model, masks, FLOPs and a per-sublayer log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from kprune.flops import FlopsReport
from kprune.masks import Masks


@dataclass(frozen=True)
class SublayerLog:
    """One step of a sublayer-wise method (index k: MHA of layer k//2 if even, else its FFN)."""

    index: int
    layer: int
    kind: str  # "mha" | "ffn"
    units_total: int
    units_kept: int
    residual_before: float | None  # relative LS residual with untuned weights (None: no tuning)
    residual_after: float | None  # relative LS residual with the weights kept
    tuned: bool
    note: str
    ridge: float
    seconds: float
    predictive_total: float  # Σ over the target's units of P (λ-free, per sequence)
    representational_total: float  # Σ over the target's units of R (λ-free, per token)


@dataclass(frozen=True)
class PruneResult:
    """model: dense, physically smaller copy (the caller's model is untouched)."""

    model: nn.Module
    masks: Masks  # keep-masks in the original model's unit indices
    flops: FlopsReport
    config: Any  # the method's frozen config
    seconds: float
    sublayers: tuple[SublayerLog, ...]
    untuned_sublayers: tuple[int, ...]  # sublayers whose tuning failed or was worse than none
    method: str
