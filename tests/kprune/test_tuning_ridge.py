"""Weight tuning with fewer calibration rows than kept units (a rank-deficient Gram): the ridge
pulls the refit toward the untuned weights, so directions the rows never excite keep their
weights, and the rows are still fit (the decoder case: a 1,536-wide FFN from 512 tokens)."""

from __future__ import annotations

import torch

from kprune.gram import GramAccumulator
from kprune.methods.kprune.tuning import reconstruct_output_weight


def test_a_rank_deficient_refit_keeps_unexcited_directions_and_fits_the_rows():
    g = torch.Generator().manual_seed(0)
    units, rows, d = 12, 5, 3
    weight = torch.randn(d, units, generator=g)  # W_out [d, n_all]
    features = torch.randn(rows, units, generator=g)
    target = features @ weight.T + 0.1 * torch.randn(rows, d, generator=g)
    stats = GramAccumulator()
    stats.add(features, target)
    kept = torch.arange(units)
    outcome = reconstruct_output_weight(stats, kept, weight, ridge_ratio=1e-6)
    assert outcome.ridge > 0 and outcome.note == "tuned" and outcome.weight is not None
    new = outcome.weight.double()
    # the part of the change outside the rows' span is ~0: unexcited directions are untouched
    basis = torch.linalg.svd(features.double(), full_matrices=True).Vh  # [units, units]
    null = basis[rows:]  # directions no calibration row excites
    change = new - weight.double()
    assert float((change @ null.T).abs().max()) < 1e-6
    # and the rows are fit at least as well as by the untuned weights
    assert outcome.residual_after <= outcome.residual_before
    fitted = features.double() @ new.T
    assert float((fitted - target.double()).pow(2).sum()) < 1e-6 * float(target.pow(2).sum())
