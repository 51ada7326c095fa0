import torch

from kprune.search import keep_above, search_sublayer_mask, search_threshold


def scan_threshold(scores, costs, budget):
    """The reference's O(n²) scan (spec §4): first ascending threshold whose survivors fit."""
    ordered = torch.sort(scores).values
    for theta in ordered:
        kept = scores > theta
        if float(costs[kept].sum()) < budget:
            return float(theta)
    return float(ordered[-1])


def _random_case(seed, n=60):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randint(0, 20, (n,), generator=g).double()  # ties on purpose
    costs = torch.where(torch.rand(n, generator=g) < 0.3, 50.0, 1.0).double()
    return scores, costs


def test_kept_cost_never_exceeds_budget():
    for seed in range(30):
        scores, costs = _random_case(seed)
        for budget in torch.linspace(0.5, float(costs.sum()) + 5, 40).tolist():
            keep = keep_above(scores, search_threshold(scores, costs, budget))
            assert float(costs[keep].sum()) < budget or bool(keep.all())


def test_monotone_in_budget():
    for seed in range(20):
        scores, costs = _random_case(seed)
        previous = torch.zeros_like(scores, dtype=torch.bool)
        for budget in torch.linspace(0.5, float(costs.sum()), 50).tolist():
            keep = keep_above(scores, search_threshold(scores, costs, budget))
            assert bool((previous <= keep).all()), "a larger budget dropped a kept unit"
            previous = keep


def test_matches_reference_scan():
    for seed in range(20):
        scores, costs = _random_case(seed)
        for budget in torch.linspace(1.0, float(costs.sum()) - 1, 25).tolist():
            ours = keep_above(scores, search_threshold(scores, costs, budget))
            ref = scores > scan_threshold(scores, costs, budget)
            assert torch.equal(ours, ref)


def test_ties_at_threshold_are_dropped():
    scores = torch.tensor([3.0, 2.0, 2.0, 1.0])
    costs = torch.ones(4)
    keep = keep_above(scores, search_threshold(scores, costs, 2.5))  # prefix [3,2] fits, 2 excluded
    assert keep.tolist() == [True, False, False, False]


def test_sublayer_mask_uses_global_threshold():
    candidates = {0: torch.tensor([5.0, 1.0]), 1: torch.tensor([4.0, 3.0, 0.5])}
    keep = search_sublayer_mask(candidates, {0: 2.0, 1: 1.0}, target=0, budget=4.5)
    # descending: 5(2) 4(1) 3(1) -> cumulative 2,3,4 < 4.5; next is 1.0 -> threshold 1.0
    assert keep.tolist() == [True, False]
