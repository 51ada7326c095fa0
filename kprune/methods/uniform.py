"""Uniform magnitude pruning baseline: the same kept fraction of heads and of neurons in every
layer, units chosen by weight magnitude, no tuning. Meets the same FLOPs budget as every method.

Magnitudes: a head scores the L2 (Frobenius) norm of its output-projection columns W_O[:, dims of
the head]; a neuron scores ‖row i of W_in‖ · ‖column i of W_out‖ (its weight-path size).
Counts: the largest neuron count n per layer such that, with f = n / N and round(f·H) heads per
layer (half up), the encoder fits the budget; ties in magnitude keep the lower index.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from kprune.arch import EncoderAccess
from kprune.masks import Masks
from kprune.methods.base_config import BudgetFields
from kprune.methods.budget import (
    SublayerCallback,
    emit,
    finish,
    plain_logs,
    prepare_copy,
    round_masks,
)
from kprune.result import PruneResult
from kprune.sublayer import per_head


@dataclass(frozen=True)
class UniformConfig(BudgetFields):
    """Uniform per-layer magnitude pruning (no calibration statistics, no tuning).

    seed: recorded for parity with the other methods; magnitude pruning is deterministic.
    """


def head_magnitudes(access: EncoderAccess) -> torch.Tensor:
    """[layers, heads]: Frobenius norm of each head's output-projection columns."""
    rows = []
    for layer in range(len(access.layers)):
        weight = access.module(layer, "attn_out").weight.detach().float()  # [d, heads·d_h]
        per_dim = weight.pow(2).sum(dim=0)
        rows.append(per_head(per_dim, access.unit_width).sum(dim=1).sqrt())
    return torch.stack(rows).cpu()


def neuron_magnitudes(access: EncoderAccess) -> torch.Tensor:
    """[layers, neurons]: ‖W_in[i, :]‖ · ‖W_out[:, i]‖ per neuron."""
    rows = []
    for layer in range(len(access.layers)):
        w_in = access.module(layer, "ffn_in").weight.detach().float()  # [N, d]
        w_out = access.module(layer, "ffn_out").weight.detach().float()  # [d, N]
        rows.append(w_in.norm(dim=1) * w_out.norm(dim=0))
    return torch.stack(rows).cpu()


def uniform_counts(
    layers: int, heads: int, neurons: int, head_cost: float, neuron_cost: float, budget: float
) -> tuple[int, int]:
    """Per-layer (heads, neurons) kept: the largest n with round(n·H/N) heads within budget."""
    n = torch.arange(neurons + 1, dtype=torch.int64)
    h = (2 * n * heads + neurons) // (2 * neurons)  # round half up, in integers
    cost = layers * (h.double() * head_cost + n.double() * neuron_cost)
    best = int(torch.nonzero(cost <= budget).max())  # n = 0 always fits (cost 0)
    return int(h[best]), best


def top_per_layer(scores: torch.Tensor, count: int) -> torch.Tensor:
    """[layers, units] bool: the ``count`` highest scores of each row (lower index on ties)."""
    keep = torch.zeros_like(scores, dtype=torch.bool)
    order = torch.argsort(scores, dim=1, descending=True, stable=True)
    keep.scatter_(1, order[:, :count], True)
    return keep


def run_uniform(
    model: nn.Module,
    batches: Sequence[dict[str, torch.Tensor]],
    config: UniformConfig,
    on_sublayer: SublayerCallback | None = None,
) -> PruneResult:
    """Uniform magnitude pruning; returns a dense pruned copy (the input is never mutated)."""
    started = time.perf_counter()
    run = prepare_copy(model, batches, config)
    h, n = uniform_counts(
        len(run.heads),
        max(run.heads),
        max(run.neurons),
        run.head_cost,
        run.neuron_cost,
        run.limit,
    )
    head_scores, neuron_scores = head_magnitudes(run.access), neuron_magnitudes(run.access)
    masks = Masks(top_per_layer(head_scores, h), top_per_layer(neuron_scores, n))
    masks = round_masks(run, masks, head_scores, neuron_scores)
    logs = plain_logs(masks, "no tuning (uniform magnitude baseline)")
    emit(logs, on_sublayer)
    return finish(run, masks, config, started, logs, (), "uniform")
