"""Kwon et al. step 3 (spec §12): per layer, keep the searched number of heads (and of neurons) but
re-choose WHICH ones with the within-layer (block-diagonal) Fisher.

The loss increase of pruning a set Z is modelled as ‖Σ_{i∈Z} g_i‖², g_i ∈ R^{#batches} being unit
i's per-batch gradient vector (the block-diagonal Fisher's quadratic form). Greedy: start from the
|Z| lowest-Fisher units; visit the others by ascending Fisher; add each, then drop the member whose
removal leaves the smallest objective. Counts never change. Tensors in, tensors out; no model.
"""

from __future__ import annotations

import torch

from kprune.masks import Masks


def rearrange_layer(grads: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """New keep-mask of one layer's units with the same count; grads: [batches, units]."""
    units = keep.numel()
    num_pruned = units - int(keep.sum())
    if num_pruned in (0, units):
        return keep.clone()
    g = grads.double().T.contiguous()  # [units, batches]
    sq_norms = g.pow(2).sum(dim=1)
    order = torch.argsort(sq_norms, stable=True)  # ascending diagonal Fisher
    member = torch.zeros(units, dtype=torch.bool)
    member[order[:num_pruned]] = True
    total = g[member].sum(dim=0)
    for candidate in order[num_pruned:].tolist():
        member[candidate] = True
        total = total + g[candidate]
        # ‖total − g_j‖² for every member j; the candidate itself is a member, so the objective
        # never increases.
        after = total.pow(2).sum() - 2.0 * (g @ total) + sq_norms
        after = torch.where(member, after, torch.full_like(after, torch.inf))
        dropped = int(torch.argmin(after))
        member[dropped] = False
        total = total - g[dropped]
    return ~member


def rearrange_masks(masks: Masks, head_grads: torch.Tensor, neuron_grads: torch.Tensor) -> Masks:
    """Rearrange every layer; head_grads [batches, layers, heads], neuron_grads likewise."""
    heads = torch.stack(
        [rearrange_layer(head_grads[:, i], masks.head_keep[i]) for i in range(masks.num_layers)]
    )
    neurons = torch.stack(
        [rearrange_layer(neuron_grads[:, i], masks.neuron_keep[i]) for i in range(masks.num_layers)]
    )
    return Masks(heads, neurons)
