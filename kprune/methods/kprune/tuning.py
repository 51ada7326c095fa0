"""Kprune's knowledge-preserving weight tuning (spec §5, §16.3): least-squares refit of a pruned
sublayer's W_out toward the teacher's pre-LayerNorm output (Cholesky, ridge fallback, untuned kept
if better). Never swallows a failure (the outcome says what happened); never writes weights.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from kprune.gram import GramAccumulator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TuningOutcome:
    weight: torch.Tensor | None  # new W_out [d, n_keep] (None: keep the sliced original)
    residual_before: float  # ‖A·W0ᵀ − B‖² / ‖B‖² with the untuned (sliced) weights
    residual_after: float  # same with the chosen weights
    ridge: float  # ridge added to the Gram diagonal (0 when Cholesky succeeded as is)
    note: str  # "tuned", or why the untuned weights were kept


def _relative_residual(
    gram: torch.Tensor, cross: torch.Tensor, energy: float, w: torch.Tensor
) -> float:
    # ‖AW − B‖² = tr(WᵀGW) − 2·tr(WᵀC) + ‖B‖², with W: [n, d].
    value = float((w * (gram @ w)).sum() - 2.0 * (w * cross).sum()) + energy
    return max(value, 0.0) / energy if energy > 0 else 0.0


NOISE_CUTOFF = 1e-5
"""Eigenvalues of the Gram below this fraction of its largest are rounding noise: the Gram and
cross terms are accumulated from float32 products (`kprune.gram`), ~1e-7 relative precision."""


def _solve(
    gram: torch.Tensor, cross: torch.Tensor, ridge_ratio: float, prior: torch.Tensor
) -> tuple[torch.Tensor | None, float]:
    """Cholesky solve of G·W = C. When G is not positive definite (fewer calibration rows than
    kept units, as for a decoder's 1,536-wide FFN from 512 tokens), the least-squares solution
    closest to ``prior`` (the untuned weights): W = prior + Σ_k v_k v_kᵀ(C − G·prior)/(λ_k + r)
    over the eigen-directions above NOISE_CUTOFF, with ridge r = ridge_ratio·mean(diag G).
    Directions no calibration row excites keep the untuned weights. (A ridge toward zero set
    them to ~0 instead: SmolLM2 at 5% of parameters pruned went from perplexity 23.6 to 23,925.)
    Returns (W or None, the ridge used: 0 when Cholesky succeeded as is)."""
    factor, info = torch.linalg.cholesky_ex(gram)
    if int(info) == 0:
        return torch.cholesky_solve(cross, factor), 0.0
    values, vectors = torch.linalg.eigh(gram)
    if gram.numel() == 0 or not bool(torch.isfinite(values).all()):
        return None, 0.0
    ridge = max(float(torch.diagonal(gram).mean()), 1e-12) * ridge_ratio
    signal = values > NOISE_CUTOFF * float(values.max())
    basis = vectors[:, signal]
    step = basis.T @ (cross - gram @ prior) / (values[signal] + ridge)[:, None]
    return prior + basis @ step, ridge


def reconstruct_output_weight(
    stats: GramAccumulator,
    kept_dims: torch.Tensor,
    current_weight: torch.Tensor,
    ridge_ratio: float,
) -> TuningOutcome:
    """Refit W_out restricted to ``kept_dims`` (input dims of the projection still kept).

    stats: accumulated over the kept dims only, in ``kept_dims`` order.
    current_weight: the projection's full weight [d, n_all] before slicing.
    """
    if stats.gram is None or stats.cross is None:
        raise ValueError("no calibration rows were accumulated for tuning")
    gram, cross = stats.gram, stats.cross
    if gram.shape[0] != kept_dims.numel():
        raise ValueError(
            f"statistics over {gram.shape[0]} dims for {kept_dims.numel()} kept dims: "
            "accumulate them over the kept columns"
        )
    w0 = (
        current_weight.detach()
        .double()
        .T.index_select(0, kept_dims.to(current_weight.device))
        .to(gram.device)
    )
    before = _relative_residual(gram, cross, stats.target_energy, w0)
    if kept_dims.numel() == 0:
        return TuningOutcome(None, before, before, 0.0, "no units kept: output is the bias")
    solution, ridge = _solve(gram, cross, ridge_ratio, w0)
    if solution is None or not bool(torch.isfinite(solution).all()):
        log.warning("least squares failed (ridge %.3g); keeping the untuned weights", ridge)
        return TuningOutcome(None, before, before, ridge, "solve failed: untuned weights kept")
    after = _relative_residual(gram, cross, stats.target_energy, solution)
    if after > before:
        log.warning(
            "least squares raised the residual (%.4g > %.4g); keeping untuned", after, before
        )
        return TuningOutcome(None, before, before, ridge, "tuned residual worse: untuned kept")
    if ridge > 0:
        log.info("Gram matrix not positive definite; least squares closest to the untuned weights")
    return TuningOutcome(solution.T.float(), before, after, ridge, "tuned")
