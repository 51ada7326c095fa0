"""Kwon et al. step 2 (spec §12, "Mask Search with a FLOPs Constraint"): choose how many heads h and
neurons n to keep, globally, maximising the kept diagonal Fisher under the FLOPs budget.

For a fixed h the best heads are the top-h by Fisher and the best n is the largest that fits, so
scanning h is exact for the objective "sum of kept Fisher" (no FLOPs normalisation: the scan over h
handles the trade-off). Tensors in, Masks out; it never reads a model.
"""

from __future__ import annotations

import torch

from kprune.masks import Masks

MIN_HEADS = 1
"""The reference scans h from 1 (§11.2 quirk 8): a model with no attention at all is only chosen
when not even one head fits the budget."""


def _prefix_sums(values: torch.Tensor) -> torch.Tensor:
    """[0, v1, v1+v2, ...] of the values sorted descending, float64."""
    ordered = torch.sort(values.double().flatten(), descending=True, stable=True).values
    return torch.cat([ordered.new_zeros(1), torch.cumsum(ordered, dim=0)])


def search_unit_counts(
    head_fisher: torch.Tensor,
    neuron_fisher: torch.Tensor,
    head_cost: float,
    neuron_cost: float,
    budget: float,
) -> tuple[int, int]:
    """(h, n) maximising top-h head + top-n neuron Fisher s.t. h·F_head + n·F_neuron ≤ budget."""
    total_heads, total_neurons = head_fisher.numel(), neuron_fisher.numel()
    h = torch.arange(total_heads + 1, dtype=torch.float64)
    spare = budget - h * head_cost
    n = torch.floor(spare / neuron_cost + 1e-9).clamp(0, total_neurons)
    # Round-off guard: the epsilon above must never buy a neuron the budget cannot pay for.
    n = torch.where(h * head_cost + n * neuron_cost > budget * (1 + 1e-12), n - 1, n)
    feasible = (spare >= 0) & (n >= 0)
    if bool(feasible[MIN_HEADS:].any()):
        feasible[:MIN_HEADS] = False
    n = n.clamp(min=0).long()
    value = _prefix_sums(head_fisher)[h.long()] + _prefix_sums(neuron_fisher)[n]
    value = torch.where(feasible, value, torch.full_like(value, -torch.inf))
    best = int(torch.argmax(value))  # first maximum: fewest heads on ties; h = 0 always fits
    return best, int(n[best])


def _top_units(fisher: torch.Tensor, count: int) -> torch.Tensor:
    """Bool mask (shape of ``fisher``) of the ``count`` largest entries (earlier index on ties)."""
    keep = torch.zeros(fisher.numel(), dtype=torch.bool)
    order = torch.argsort(fisher.double().flatten().cpu(), descending=True, stable=True)
    keep[order[:count]] = True
    return keep.view(fisher.shape)


def search_masks(
    head_fisher: torch.Tensor,
    neuron_fisher: torch.Tensor,
    head_cost: float,
    neuron_cost: float,
    budget: float,
) -> Masks:
    """Global keep-masks: the top-h heads and top-n neurons of the best (h, n).

    head_fisher: [layers, heads]; neuron_fisher: [layers, neurons]; costs in FLOPs per unit.
    """
    h, n = search_unit_counts(head_fisher, neuron_fisher, head_cost, neuron_cost, budget)
    return Masks(_top_units(head_fisher, h), _top_units(neuron_fisher, n))
