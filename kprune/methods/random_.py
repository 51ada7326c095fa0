"""Random pruning baseline: a seeded uniformly random order over ALL heads and neurons, kept in that
order while the FLOPs stay within budget (random scores through kprune.search's global threshold),
so per-layer counts vary. No tuning. Meets the same FLOPs budget as every other method.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

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
from kprune.search import keep_above, search_threshold


@dataclass(frozen=True)
class RandomConfig(BudgetFields):
    """Seeded random structured pruning (no calibration statistics, no tuning).

    seed: seeds a private torch.Generator (the global RNG is left alone).
    """


def random_masks(
    layers: int,
    heads: int,
    neurons: int,
    head_cost: float,
    neuron_cost: float,
    budget: float,
    *,
    seed: int,
) -> Masks:
    """Keep-masks from i.i.d. uniform scores and one global threshold (cost strictly < budget)."""
    generator = torch.Generator().manual_seed(seed)
    head_scores = torch.rand(layers * heads, generator=generator, dtype=torch.float64)
    neuron_scores = torch.rand(layers * neurons, generator=generator, dtype=torch.float64)
    scores = torch.cat([head_scores, neuron_scores])
    costs = torch.cat(
        [
            torch.full((layers * heads,), head_cost, dtype=torch.float64),
            torch.full((layers * neurons,), neuron_cost, dtype=torch.float64),
        ]
    )
    keep = keep_above(scores, search_threshold(scores, costs, budget))
    return Masks(
        keep[: layers * heads].view(layers, heads), keep[layers * heads :].view(layers, neurons)
    )


def run_random(
    model: nn.Module,
    batches: Sequence[dict[str, torch.Tensor]],
    config: RandomConfig,
    on_sublayer: SublayerCallback | None = None,
) -> PruneResult:
    """Random structured pruning; returns a dense pruned copy (the input is never mutated)."""
    started = time.perf_counter()
    run = prepare_copy(model, batches, config)
    masks = random_masks(
        len(run.heads),
        max(run.heads),
        max(run.neurons),
        run.head_cost,
        run.neuron_cost,
        run.limit,
        seed=config.seed,
    )
    # the kept units are a random draw already: rounding drops the later-indexed ones
    zeros = (torch.zeros(masks.head_keep.shape), torch.zeros(masks.neuron_keep.shape))
    masks = round_masks(run, masks, *zeros)
    logs = plain_logs(masks, "no tuning (random baseline)")
    emit(logs, on_sublayer)
    return finish(run, masks, config, started, logs, (), "random")
