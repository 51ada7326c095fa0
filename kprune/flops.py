"""Kprune's FLOPs model (spec §7, reference `utils/capacity.py`); pure arithmetic.

Counted per head: Q, K, V and output projections plus the two attention matmuls; per neuron:
one row of the first FFN matrix and one column of the second (2 FLOPs per multiply-add).
Ignored: embeddings, pooler and task head, LayerNorm, biases, activations and softmax.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def head_flops(seq_len: float, hidden_size: int, head_size: int) -> float:
    """F_head = 8·s·d·d_h + 4·s²·d_h.

    Q, K, V: 6·s·d·d_h; output projection: 2·s·d_h·d; QKᵀ and PV: 4·s²·d_h.
    """
    return 8.0 * seq_len * hidden_size * head_size + 4.0 * seq_len**2 * head_size


def neuron_flops(seq_len: float, hidden_size: int) -> float:
    """F_neuron = 4·s·d (one row of W_in and one column of W_out)."""
    return 4.0 * seq_len * hidden_size


def encoder_flops(
    heads_per_layer: Sequence[int],
    neurons_per_layer: Sequence[int],
    seq_len: float,
    hidden_size: int,
    head_size: int,
) -> float:
    """Total counted FLOPs of the encoder layers for one sequence of length ``seq_len``."""
    f_head = head_flops(seq_len, hidden_size, head_size)
    f_neuron = neuron_flops(seq_len, hidden_size)
    return sum(h * f_head + n * f_neuron for h, n in zip(heads_per_layer, neurons_per_layer))


@dataclass(frozen=True)
class FlopsReport:
    """Counted FLOPs of the original, the budget, and the pruned encoder, at one seq_len."""

    original: float
    target: float
    achieved: float
    seq_len: float

    @property
    def ratio(self) -> float:
        """Achieved kept/original FLOPs ratio."""
        return self.achieved / self.original

    @property
    def target_ratio(self) -> float:
        return self.target / self.original
