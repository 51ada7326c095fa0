"""Kprune's FLOPs model (spec §7, reference `utils/capacity.py`), extended to Llama-style decoders;
pure arithmetic.

Counted per attention unit: its Q, K, V and output projections plus the two attention matmuls;
per neuron: its rows of the FFN input matrices and its column of the output matrix (2 FLOPs per
multiply-add). Ignored: embeddings, pooler and task head (a decoder's LM head too), LayerNorm /
RMSNorm, biases, rotary, activations, the SwiGLU product and softmax.

Decoders (grouped-query attention, GQA): a unit is one key/value group with g = heads_per_unit
query heads. Per token: q and o cost 2·d·(g·d_h) each, k and v 2·d·d_h each; the attention
matmuls cost 4·s·d_h per query head. The full s×s score square is counted, causal or not: the
dense kernels the pruned model runs (eager/SDPA math on CPU, ONNX Runtime) compute every score
and mask the future ones afterwards, and the count stays comparable with the encoders'.
SwiGLU neurons span three matrices (gate row, up row, down column): 6·s·d.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def attention_unit_flops(
    seq_len: float, hidden_size: int, head_size: int, heads_per_unit: int = 1
) -> float:
    """F_unit = g·(4·s·d·d_h + 4·s²·d_h) + 4·s·d·d_h, g = heads_per_unit.

    q and o: 2·s·d·(g·d_h) each; k and v: 2·s·d·d_h each; QKᵀ and PV: 4·s²·d_h per query head.
    With g = 1 (multi-head attention) this is F_head = 8·s·d·d_h + 4·s²·d_h.
    """
    s, d, d_h, g = seq_len, hidden_size, head_size, heads_per_unit
    return g * (4.0 * s * d * d_h + 4.0 * s**2 * d_h) + 4.0 * s * d * d_h


def head_flops(seq_len: float, hidden_size: int, head_size: int) -> float:
    """F_head = 8·s·d·d_h + 4·s²·d_h.

    Q, K, V: 6·s·d·d_h; output projection: 2·s·d_h·d; QKᵀ and PV: 4·s²·d_h.
    """
    return attention_unit_flops(seq_len, hidden_size, head_size, 1)


def neuron_flops(seq_len: float, hidden_size: int, ffn_matrices: int = 2) -> float:
    """F_neuron = 2·m·s·d for an FFN of m matrices: 4·s·d (one row of W_in and one column of
    W_out), 6·s·d for SwiGLU (gate row, up row, down column)."""
    return 2.0 * ffn_matrices * seq_len * hidden_size


def model_flops(
    units_per_layer: Sequence[int],
    neurons_per_layer: Sequence[int],
    seq_len: float,
    hidden_size: int,
    head_size: int,
    heads_per_unit: int = 1,
    ffn_matrices: int = 2,
) -> float:
    """Total counted FLOPs of the layer stack for one sequence of length ``seq_len``
    (units_per_layer: attention units, i.e. heads, or key/value groups under GQA)."""
    f_unit = attention_unit_flops(seq_len, hidden_size, head_size, heads_per_unit)
    f_neuron = neuron_flops(seq_len, hidden_size, ffn_matrices)
    return sum(u * f_unit + n * f_neuron for u, n in zip(units_per_layer, neurons_per_layer))


def encoder_flops(
    heads_per_layer: Sequence[int],
    neurons_per_layer: Sequence[int],
    seq_len: float,
    hidden_size: int,
    head_size: int,
) -> float:
    """Total counted FLOPs of a multi-head, two-matrix-FFN encoder (`model_flops` with g = 1)."""
    return model_flops(heads_per_layer, neurons_per_layer, seq_len, hidden_size, head_size)


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
