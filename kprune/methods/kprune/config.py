"""Kprune's settings: one frozen dataclass on top of the shared BudgetFields, defaults in one
place, validated on construction. Nothing here touches devices, files or the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kprune.errors import ConfigError
from kprune.methods.base_config import BudgetFields, check_positive

TaskKind = Literal["auto", "classification", "regression", "qa", "causal_lm"]


@dataclass(frozen=True)
class KpruneConfig(BudgetFields):
    """Settings of one Kprune run (Park, Choi & Kang, ICLR 2024; spec §9 for the defaults).

    seed: seeds torch's global RNG for the duration of the run only (the caller's RNG state is
    restored afterwards); the loop itself draws no random numbers.
    """

    pred_weight: float = 1.0
    """lambda_pred: weight of predictive (label-level) knowledge."""
    rep_weight: float = 2.5e-4
    """lambda_rep: weight of representational (sublayer-output) knowledge; task-dependent."""
    head_weight: float | Literal["d_h"] = 64.0
    """mu: balance coefficient of head scores. 64 for every model, as the official code (with
    mu = d_h = 32 MiniLM loses 2.7 points at kept 0.3 and 3.8 at kept 0.2, issue 10); "d_h" uses
    the model's head size instead."""
    temperature: float = 2.0
    """T (gamma in the paper): softmax temperature of the distillation KL."""
    tune_weights: bool = True
    """KPWT: refit each pruned sublayer's output projection by least squares."""
    task: TaskKind = "auto"
    """Loss for predictive knowledge; auto reads it from the model's head and num_labels
    (causal_lm: next-token KL over every real position, for decoders)."""
    predictive_target: Literal["soft", "sampled"] = "soft"
    """What the student's outputs are compared with for predictive knowledge: "soft", the
    teacher's softmax(z/T) under KL, as the reference code (zero gradient at k = 0); "sampled",
    labels drawn once from it under cross-entropy (classification and causal LM), whose squared
    gradient carries the KL's curvature at k = 0 too (kprune.methods.kprune.losses)."""
    cache_inputs: bool = True
    """Cache each target sublayer's input (fast path); False re-runs the full model every step."""
    pack_tokens: bool = True
    """Compute on real tokens only (kprune.tokens), padding only inside attention, and run the
    last FFN's gradient path on the rows the head reads; False computes on padded batches as the
    reference code does. Batches keep their sequences either way. Applies where it is exact: heads
    that read position 0 on right-padded batches (an extractive-QA head reads every position,
    padding included, so QA batches and left-padded batches stay padded)."""
    ridge_ratio: float = 1e-6
    """Ridge added (times mean diagonal of the Gram matrix) when Cholesky fails."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(self.pred_weight, "pred_weight", allow_zero=True)
        check_positive(self.rep_weight, "rep_weight", allow_zero=True)
        if self.head_weight is None:
            raise ConfigError('head_weight must be a number > 0 or "d_h" (the head size)')
        if self.head_weight != "d_h":
            check_positive(self.head_weight, "head_weight")
        check_positive(self.temperature, "temperature")
        check_positive(self.ridge_ratio, "ridge_ratio", allow_zero=True)
        if self.pred_weight == 0 and self.rep_weight == 0:
            raise ConfigError("pred_weight and rep_weight are both 0: every score would be 0")
        if self.predictive_target not in ("soft", "sampled"):
            raise ConfigError(f"predictive_target={self.predictive_target!r}; use soft or sampled")
        if self.task not in ("auto", "classification", "regression", "qa", "causal_lm"):
            raise ConfigError(
                f"task={self.task!r}; use auto, classification, regression, qa or causal_lm"
            )
