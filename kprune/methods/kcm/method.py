"""KCM (Nova, Dai & Schuurmans, ICML 2023) as a kprune method: R2 and D2 per FFN layer -> R2D2
ranks -> global top-k neurons under the FLOPs budget (every head kept) -> Kwon-style least-squares
rescaling of the kept neurons -> scales folded into W_out -> physical pruning.
Never touches the caller's model; never needs labels or gradients.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from kprune.masks import Masks
from kprune.methods.budget import BudgetedCopy, SublayerCallback, emit, finish, prepare_copy
from kprune.methods.kcm.config import KcmConfig
from kprune.methods.kcm.ranking import NeuronRanking, rank_neurons
from kprune.methods.kcm.rescaling import rescale_sublayers
from kprune.methods.kcm.selection import neuron_budget, round_neuron_keep, select_neurons
from kprune.methods.kwon.method import fold_unit_gates
from kprune.methods.kwon.tuning import scale_log
from kprune.result import PruneResult, SublayerLog, sublayer_log
from kprune.sublayer import FFN, Sublayer, sublayer_count, sublayer_index

HEADS_NOTE = "heads are never pruned by KCM"


@dataclass(frozen=True)
class KcmPlan:
    """Everything decided before the weights are touched."""

    masks: Masks  # keep-masks in the original unit indices; every head kept
    unit_gates: dict[int, torch.Tensor]  # FFN sublayer -> [neurons] float: 0 pruned, scale kept
    ranking: NeuronRanking
    logs: tuple[SublayerLog, ...]
    untuned: tuple[int, ...]  # FFN sublayers with kept neurons whose rescaling failed


def _decide_scales(
    run: BudgetedCopy,
    masks: Masks,
    ranking: NeuronRanking,
    config: KcmConfig,
    on_sublayer: SublayerCallback | None,
) -> tuple[dict[int, torch.Tensor], list[SublayerLog]]:
    """Rescaled FFN unit gates (0/1 when rescaling is off) and one log entry per sublayer."""
    gates = {
        sublayer_index(layer, FFN): masks.neuron_keep[layer].float()
        for layer in range(masks.num_layers)
    }
    steps = (
        rescale_sublayers(
            run.access,
            run.batches,
            masks.neuron_keep,
            config.damping,
            run.access.head_reads_first_position,
        )
        if config.rescale
        else ((index, None, None) for index in range(sublayer_count(masks.num_layers)))
    )
    logs, started = [], time.perf_counter()
    for index, gate, outcome in steps:
        layer, seconds = Sublayer(index).layer, time.perf_counter() - started
        if Sublayer(index).is_mha:
            entry = sublayer_log(index, masks.head_keep[layer], HEADS_NOTE, seconds=seconds)
        else:
            gates[index] = gate if gate is not None else gates[index]
            d2_total = float(ranking.data_driven[layer].sum())
            keep = masks.neuron_keep[layer]
            # D2 is an output energy per token, the same kind of quantity as Kprune's R; KCM
            # measures nothing predictive (no labels, no gradients): predictive_total stays 0
            entry = scale_log(
                index,
                keep,
                outcome,
                "rescaling off",
                seconds=seconds,
                ridge=config.damping**2,
                representational_total=d2_total,
            )
        logs.append(entry)
        emit([entry], on_sublayer)
        started = time.perf_counter()
    return gates, logs


def plan_kcm(
    run: BudgetedCopy, config: KcmConfig, on_sublayer: SublayerCallback | None = None
) -> KcmPlan:
    """Ranking, selection and rescaling on the working copy (weights unchanged).

    Raises BudgetUnreachableError before any pass when the heads alone exceed the budget.
    """
    budget = neuron_budget(run)
    ranking = rank_neurons(run.access, run.batches, config)
    keep = select_neurons(ranking.combined, run.neuron_cost, budget)
    keep = round_neuron_keep(run, keep, ranking.combined)
    masks = Masks(run.full_masks().head_keep, keep)
    gates, logs = _decide_scales(run, masks, ranking, config, on_sublayer)
    untuned = tuple(
        e.index for e in logs if config.rescale and e.kind == "ffn" and e.units_kept and not e.tuned
    )
    return KcmPlan(masks, gates, ranking, tuple(logs), untuned)


def run_kcm(
    model: nn.Module,
    batches: Sequence[dict[str, torch.Tensor]],
    config: KcmConfig,
    on_sublayer: SublayerCallback | None = None,
) -> PruneResult:
    """Prune ``model``'s FFN neurons with KCM; returns a dense pruned copy (input never mutated).

    Batches need no labels. Raises BudgetUnreachableError when ``config.target_flops_ratio`` is
    below what keeping every head allows.
    """
    started = time.perf_counter()
    run = prepare_copy(model, batches, config)
    plan = plan_kcm(run, config, on_sublayer)
    if config.rescale:
        fold_unit_gates(run.access, plan.unit_gates)
    return finish(run, plan.masks, config, started, plan.logs, plan.untuned, "kcm")
