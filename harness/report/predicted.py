"""The speedup the pruned structure predicts at each timed (batch, seq), and the Amdahl split of
the dense time that says where the rest went.

The stored `ideal_speedup` is 1/kept-FLOPs at the FLOPs model's s (the calibration set's mean
length, ~27 tokens); timing runs at its own seq, where the attention s² terms weigh more. Here
the kept ratio is recounted at the timed seq from each point's heads and neurons per layer
(spec §7: F_head = 8·s·d·d_h + 4·s²·d_h, F_neuron = 4·s·d; batch scales both alike). The Amdahl
split fits, per setup, runtime and shape, the share f of the dense time that does not shrink
with kept FLOPs (embeddings, LayerNorms, classifier, launch overhead, memory-bound glue):
1/speedup = f + (1 - f)·ratio, least squares over the pruned points.

Pure arithmetic on frames; never reads files. It repeats spec §7's two formulas rather than
import kprune (which loads torch); tests check it against `kprune.encoder_flops`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from harness.results.keys import DENSE_METHOD

log = logging.getLogger(__name__)

MAX_HEAD_SIZE = 1024


@dataclass(frozen=True)
class EncoderDims:
    """Hidden size d and head size d_h of a run's encoder, and how they were learned."""

    hidden_size: int
    head_size: int
    source: str


def counted_flops(
    heads: Sequence[int], neurons: Sequence[int], seq_len: float, hidden_size: int, head_size: int
) -> float:
    """Spec §7's counted encoder FLOPs of one sequence: Σ heads·F_head + neurons·F_neuron."""
    f_head = 8.0 * seq_len * hidden_size * head_size + 4.0 * seq_len**2 * head_size
    f_neuron = 4.0 * seq_len * hidden_size
    return sum(h * f_head + n * f_neuron for h, n in zip(heads, neurons, strict=True))


def kept_ratio_at(
    structure: tuple[Sequence[int], Sequence[int]],
    dense: tuple[Sequence[int], Sequence[int]],
    seq_len: float,
    dims: EncoderDims,
) -> float:
    """Kept/original counted FLOPs of (heads, neurons) per layer against the dense ones."""
    kept = counted_flops(*structure, seq_len, dims.hidden_size, dims.head_size)
    return kept / counted_flops(*dense, seq_len, dims.hidden_size, dims.head_size)


def _fits(head_size: int, heads: int, changes: list[tuple[int, int, int]]) -> bool:
    """Whether every (removed heads, removed neurons, removed params) matches d = heads·d_h:
    a head holds 4·d·d_h + 3·d_h parameters (Q, K, V with biases, output columns), a neuron
    2·d + 1 (a W_in row with its bias, a W_out column)."""
    d = heads * head_size
    per_head, per_neuron = 4 * d * head_size + 3 * head_size, 2 * d + 1
    return all(h * per_head + n * per_neuron == p for h, n, p in changes)


def infer_dims(points: pd.DataFrame) -> EncoderDims | None:
    """d and d_h of one run from its points' parameter counts (runs store heads and neurons
    per layer but not the widths): the one head size for which every pruned point's removed
    parameters are exactly its removed heads and neurons, with d = heads·d_h as in BERT-family
    encoders. None when there is no dense point, nothing was removed, or no single size fits."""
    ok = points[points["error"].isna()] if "error" in points else points
    dense = ok[ok["method"].eq(DENSE_METHOD)]
    if dense.empty:
        return None
    base = dense.iloc[0]
    heads = max(base["heads_per_layer"])
    changes = [
        (
            sum(base["heads_per_layer"]) - sum(p["heads_per_layer"]),
            sum(base["neurons_per_layer"]) - sum(p["neurons_per_layer"]),
            int(base["params"]) - int(p["params"]),
        )
        for _, p in ok[ok["method"].ne(DENSE_METHOD)].iterrows()
    ]
    changes = [c for c in changes if c[0] or c[1]]
    if not changes or heads == 0:
        return None
    found = [d_h for d_h in range(1, MAX_HEAD_SIZE + 1) if _fits(d_h, heads, changes)]
    if len(found) != 1:
        log.info("encoder widths not inferable from parameter counts (candidates %s)", found)
        return None
    return EncoderDims(heads * found[0], found[0], "inferred from parameter counts")


def amdahl_fixed_share(kept_ratios: Sequence[float], speedups: Sequence[float]) -> float | None:
    """Least-squares f in 1/speedup = f + (1 - f)·ratio over pruned points (ratio < 1): the
    share of the dense time that pruning does not shrink. None without a usable point."""
    pairs = [(r, s) for r, s in zip(kept_ratios, speedups, strict=True) if r < 1 and s > 0]
    pairs = [(r, s) for r, s in pairs if math.isfinite(r) and math.isfinite(s)]
    if not pairs:
        return None
    numerator = sum((1 - r) * (1 / s - r) for r, s in pairs)
    return numerator / sum((1 - r) ** 2 for r, _ in pairs)


def amdahl_speedup(fixed_share: float, kept_ratio: float) -> float:
    """Speedup when a share `fixed_share` of the dense time does not shrink with kept FLOPs."""
    return 1.0 / (fixed_share + (1.0 - fixed_share) * kept_ratio)
