"""KCM's R2D2 (paper Fig. 1): per FFN layer, the R2 and D2 scores become ranks and the ranks are
combined into one score per neuron; those are what the global top-k merges and sorts.

A rank is normalised by the layer's width, r = (position among the layer's neurons, 1 = lowest,
ties sharing their mean position) / width ∈ (0, 1], so the scores of different layers are on
one scale whatever the raw magnitudes of R2 (kernel coefficients) and D2 (output energies).
R2D2 = r2_weight · r(R2) + (1 − r2_weight) · r(D2). Scores only: it never decides masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from kprune.arch import EncoderAccess
from kprune.calibration import PreparedBatch
from kprune.methods.kcm.config import KcmConfig
from kprune.methods.kcm.data_driven import data_driven_scores
from kprune.methods.kcm.representative import neuron_weight_vectors, representative_scores


@dataclass(frozen=True)
class NeuronRanking:
    """Per-neuron scores, each [layers, neurons] float64 on the CPU; higher = keep first."""

    representative: torch.Tensor  # R2: diag of the convex-hull coefficients
    data_driven: torch.Tensor  # D2: mean output energy per token
    combined: torch.Tensor  # R2D2: weighted mean of the two normalised per-layer ranks


def normalized_ranks(scores: torch.Tensor) -> torch.Tensor:
    """[n] -> [n] float64 in (0, 1]: ascending rank / n, tied scores sharing their mean rank."""
    n = scores.numel()
    values, order = torch.sort(scores.double().flatten().cpu(), stable=True)
    _, group, counts = torch.unique_consecutive(values, return_inverse=True, return_counts=True)
    last = torch.cumsum(counts, dim=0).double()  # 1-based position of each group's last member
    mean_position = last - (counts.double() - 1.0) / 2.0
    ranks = torch.empty(n, dtype=torch.float64)
    ranks[order] = mean_position[group]
    return (ranks / n).view(scores.shape)


def combine_ranks(
    representative: torch.Tensor, data_driven: torch.Tensor, r2_weight: float
) -> torch.Tensor:
    """[layers, neurons] R2D2 scores from R2 and D2 of the same shape, ranked within each row."""
    rows = [
        r2_weight * normalized_ranks(r2) + (1.0 - r2_weight) * normalized_ranks(d2)
        for r2, d2 in zip(representative, data_driven)
    ]
    return torch.stack(rows)


def rank_neurons(
    access: EncoderAccess, batches: Sequence[PreparedBatch], config: KcmConfig
) -> NeuronRanking:
    """R2 from the weights, D2 from one pass over ``batches``, and their R2D2 combination."""
    representative = torch.stack(
        [
            representative_scores(
                neuron_weight_vectors(access, layer),
                config.kernel_width,
                config.convex_tolerance,
                config.convex_max_iterations,
            )
            for layer in range(len(access.layers))
        ]
    )
    data_driven = data_driven_scores(access, batches)
    combined = combine_ranks(representative, data_driven, config.r2_weight)
    return NeuronRanking(representative, data_driven, combined)
