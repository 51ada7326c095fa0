"""Kwon et al. step 3: rearrangement keeps per-layer counts and never worsens its objective."""

import torch

from kprune.masks import Masks
from kprune.methods.kwon.rearrange import rearrange_layer, rearrange_masks


def pruned_set_objective(grads: torch.Tensor, pruned: torch.Tensor) -> float:
    """Oracle: the greedy's objective ‖Σ_{i∈Z} g_i‖² (grads [batches, units], pruned [units])."""
    return float(grads.double()[:, pruned].sum(dim=1).pow(2).sum())


def test_keeps_per_layer_counts_and_never_worsens_objective():
    g = torch.Generator().manual_seed(0)
    grads_h = torch.randn(5, 3, 4, generator=g)
    grads_n = torch.randn(5, 3, 16, generator=g)
    for seed in range(10):
        r = torch.Generator().manual_seed(seed)
        masks = Masks(torch.rand(3, 4, generator=r) > 0.5, torch.rand(3, 16, generator=r) > 0.5)
        new = rearrange_masks(masks, grads_h, grads_n)
        assert new.heads_per_layer() == masks.heads_per_layer()
        assert new.neurons_per_layer() == masks.neurons_per_layer()
        for layer in range(3):
            grads, keep = grads_n[:, layer], masks.neuron_keep[layer]
            # The greedy starts from the lowest-Fisher set of the same size.
            start = torch.ones_like(keep)
            start[torch.argsort(grads.pow(2).sum(0), stable=True)[: int((~keep).sum())]] = False
            after = pruned_set_objective(grads, ~new.neuron_keep[layer])
            assert after <= pruned_set_objective(grads, ~start) + 1e-12


def test_prunes_units_whose_gradients_cancel():
    # Units 0 and 1 have opposite gradients: pruning both costs nothing, although each alone has
    # a larger diagonal Fisher than unit 2.
    grads = torch.tensor([[1.0, -1.0, 0.0, 0.9], [0.0, 0.0, 0.8, 0.9]])
    keep = torch.tensor([True, True, False, False])
    new = rearrange_layer(grads, keep)
    assert new.tolist() == [False, False, True, True]
    assert pruned_set_objective(grads, ~new) == 0.0


def test_all_or_nothing_layers_are_untouched():
    grads = torch.randn(3, 6)
    for keep in (torch.ones(6, dtype=torch.bool), torch.zeros(6, dtype=torch.bool)):
        assert torch.equal(rearrange_layer(grads, keep), keep)
