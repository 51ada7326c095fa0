"""Kwon et al. step 2: the (h, n) scan is optimal for the diagonal-Fisher objective."""

import pytest
import torch

from kprune.methods.kwon.search import search_masks, search_unit_counts

LAYERS, HEADS, NEURONS = 2, 2, 5  # 4 heads + 10 neurons: 2^14 subsets, enumerable
HEAD_COST, NEURON_COST = 4.0, 1.0


def _all_subsets(head_fisher, neuron_fisher):
    """(kept Fisher, cost, kept heads) of every subset of all units."""
    fisher = torch.cat([head_fisher.flatten(), neuron_fisher.flatten()]).double()
    units = fisher.numel()
    subsets = ((torch.arange(2**units)[:, None] >> torch.arange(units)) & 1).double()
    is_head = torch.arange(units) < head_fisher.numel()
    costs = torch.where(is_head, HEAD_COST, NEURON_COST).double()
    return subsets @ fisher, subsets @ costs, subsets[:, is_head].sum(dim=1)


@pytest.mark.parametrize("seed", range(4))
def test_search_is_optimal_against_all_subsets(seed):
    g = torch.Generator().manual_seed(seed)
    head_fisher = torch.rand(LAYERS, HEADS, generator=g, dtype=torch.float64) * 3
    neuron_fisher = torch.rand(LAYERS, NEURONS, generator=g, dtype=torch.float64)
    values, costs, heads = _all_subsets(head_fisher, neuron_fisher)
    total = LAYERS * (HEADS * HEAD_COST + NEURONS * NEURON_COST)
    for budget in [0.5, 3.0, 4.0, 7.5, 11.0, 15.0, 20.0, total - 1, total]:
        masks = search_masks(head_fisher, neuron_fisher, HEAD_COST, NEURON_COST, budget)
        kept_heads, kept_neurons = masks.head_keep.sum(), masks.neuron_keep.sum()
        assert float(kept_heads * HEAD_COST + kept_neurons * NEURON_COST) <= budget
        value = float(head_fisher[masks.head_keep].sum() + neuron_fisher[masks.neuron_keep].sum())
        # Brute force over ALL subsets, with ≥1 head whenever one head fits (quirk 8).
        feasible = (costs <= budget) & ((heads >= 1) | (budget < HEAD_COST))
        assert value == pytest.approx(float(values[feasible].max()), abs=1e-9)


def test_counts_scan_matches_enumerating_all_count_pairs():
    g = torch.Generator().manual_seed(11)
    head_fisher, neuron_fisher = torch.rand(24, generator=g) * 50, torch.rand(300, generator=g)
    top_h = torch.sort(head_fisher, descending=True).values.cumsum(0)
    top_n = torch.sort(neuron_fisher, descending=True).values.cumsum(0)
    for budget in [30.0, 200.0, 333.3]:
        h, n = search_unit_counts(head_fisher, neuron_fisher, 13.0, 1.0, budget)
        best = max(
            (top_h[a - 1] if a else 0.0) + (top_n[b - 1] if b else 0.0)
            for a in range(1, 25)
            for b in range(301)
            if a * 13.0 + b <= budget
        )
        got = (top_h[h - 1] if h else 0.0) + (top_n[n - 1] if n else 0.0)
        assert float(got) == pytest.approx(float(best))
        assert h >= 1 and h * 13.0 + n <= budget


def test_no_head_only_when_none_fits():
    head_fisher, neuron_fisher = torch.ones(1, 2), torch.ones(1, 8) * 1e-6
    assert search_unit_counts(head_fisher, neuron_fisher, 10.0, 1.0, 9.0) == (0, 8)
    # Even with near-zero head Fisher, the scan keeps at least one head when one fits (quirk 8).
    h, _ = search_unit_counts(head_fisher * 1e-9, neuron_fisher * 1e6, 10.0, 1.0, 12.0)
    assert h == 1


def test_whole_budget_keeps_everything():
    fisher_h, fisher_n = torch.rand(2, 3), torch.rand(2, 5)
    masks = search_masks(fisher_h, fisher_n, HEAD_COST, NEURON_COST, 34.0)
    assert bool(masks.head_keep.all()) and bool(masks.neuron_keep.all())
