"""Knowledge-preserving mask search (spec §4): one global threshold over the candidate units so
that the kept FLOPs stay strictly under the remaining budget. O(n log n); tensors only. Also the
one rounding of a kept count down to an aligned width (`round_down_keep`, BudgetFields.round_to).
"""

from __future__ import annotations

import torch


def search_threshold(scores: torch.Tensor, costs: torch.Tensor, budget: float) -> float | None:
    """Score threshold θ: units with score > θ are kept; None keeps everything.

    Sort by score (descending) and take the longest prefix whose cumulative cost is < budget;
    θ is the score of the first unit left out. Units tied with θ are dropped too (the reference's
    strict ">"), so the kept cost never exceeds the prefix's.
    """
    if scores.numel() == 0:
        return None
    order = torch.argsort(scores, descending=True, stable=True)
    cumulative = torch.cumsum(costs[order].double(), dim=0)
    fits = int((cumulative < budget).sum())  # costs > 0, so the fitting units form a prefix
    if fits == scores.numel():
        return None
    return float(scores[order[fits]])


def keep_above(scores: torch.Tensor, threshold: float | None) -> torch.Tensor:
    """Bool keep-mask: score > threshold (all True when threshold is None)."""
    if threshold is None:
        return torch.ones_like(scores, dtype=torch.bool)
    return scores > threshold


def search_sublayer_mask(
    candidates: dict[int, torch.Tensor],
    unit_costs: dict[int, float],
    target: int,
    budget: float,
) -> torch.Tensor:
    """Keep-mask of sublayer ``target`` from a global threshold over all ``candidates``.

    candidates: sublayer index -> per-unit scores (target included); unit_costs: FLOPs per unit.
    """
    scores = torch.cat([candidates[i].double().cpu() for i in sorted(candidates)])
    costs = torch.cat(
        [
            torch.full((candidates[i].numel(),), unit_costs[i], dtype=torch.float64)
            for i in sorted(candidates)
        ]
    )
    threshold = search_threshold(scores, costs, budget)
    return keep_above(candidates[target].double().cpu(), threshold)


def round_down_keep(keep: torch.Tensor, scores: torch.Tensor, multiple: int) -> torch.Tensor:
    """``keep`` (1-D bool) with its kept count rounded down to a multiple of ``multiple``: the
    lowest-scored kept units are dropped (the later index on ties). Only ever drops units, so a
    mask within a FLOPs budget stays within it. ``multiple`` <= 1 returns ``keep`` unchanged."""
    count = int(keep.sum())
    excess = count % multiple if multiple > 1 else 0
    if excess == 0:
        return keep
    kept = torch.nonzero(keep.cpu(), as_tuple=True)[0]
    # ascending by score; among equal scores the later index first (it is the one dropped)
    order = sorted(kept.tolist(), key=lambda i: (float(scores[i]), -i))
    rounded = keep.clone()
    rounded[torch.tensor(order[:excess], dtype=torch.long, device=keep.device)] = False
    return rounded
