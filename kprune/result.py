"""What a pruning method returns (dense pruned model, masks, FLOPs, per-sublayer log) and the one
builder of a log entry. Data only: nothing here prunes, measures or times anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from kprune.flops import FlopsReport
from kprune.masks import Masks
from kprune.params import ParamsReport
from kprune.sublayer import Sublayer


@dataclass(frozen=True)
class SublayerLog:
    """One step of a sublayer-wise method (index k: see kprune.sublayer)."""

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
    # wall seconds of this step per phase (kprune.phase_timer): where `seconds` went
    phase_seconds: dict[str, float] = field(default_factory=dict)


def sublayer_log(
    index: int,
    keep: torch.Tensor,
    note: str,
    *,
    residual_before: float | None = None,
    residual_after: float | None = None,
    tuned: bool = False,
    ridge: float = 0.0,
    seconds: float = 0.0,
    predictive_total: float = 0.0,
    representational_total: float = 0.0,
    phase_seconds: dict[str, float] | None = None,
) -> SublayerLog:
    """The log entry of sublayer ``index`` whose units ``keep`` [units] bool were decided."""
    sub = Sublayer(index)
    return SublayerLog(
        index=index,
        layer=sub.layer,
        kind=sub.kind,
        units_total=int(keep.numel()),
        units_kept=int(keep.sum()),
        residual_before=residual_before,
        residual_after=residual_after,
        tuned=tuned,
        note=note,
        ridge=ridge,
        seconds=seconds,
        predictive_total=predictive_total,
        representational_total=representational_total,
        phase_seconds=dict(phase_seconds or {}),
    )


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
    params: ParamsReport | None = None  # parameter counts (the budget when budgeted in params)
