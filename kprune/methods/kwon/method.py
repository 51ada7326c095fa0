"""Kwon et al. 2022 as a kprune method (spec §12): Fisher of head/neuron masks from the true-label
task loss -> (h, n) search under the FLOPs budget -> per-layer rearrangement -> layer-wise LS mask
scales -> scales folded into W_out -> physical pruning. Never touches the caller's model.

Decisions on the reference's quirks (spec §11.2):
1. Teacher for tuning: the UNPRUNED model (same as Kprune), not the reference's √c-masked model.
2. Layer-0 MHA is tuned like every other sublayer (the reference skips it); the last FFN is fitted
   on the CLS token only when the task head reads only position 0 (classification/regression),
   as in the reference; QA fits every non-pad token.
3. A failed or rejected solve (non-finite, |scale| > 10, worse residual) leaves that sublayer's
   scales at 1, is logged and listed in untuned_sublayers; tuning goes on with the next sublayer
   (the reference silently stops tuning all remaining layers).
4. One kept unit is an ordinary 1×1 solve (the reference's 1-unknown branch crashes).
5. The result is physically pruned and dense (the reference only applies masks).
6-7. (checkpoints, SQuAD evaluation speed) concern the caller, not this module.
8. The search scans h from 1 head (kwon.search.MIN_HEADS) unless not even one head fits.
Budgets use Kprune's FLOPs model with the same s, so every method meets the identical budget
(achieved ≤ target; the reference's MAC count is exactly half, so ratios are the same).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from kprune.arch import EncoderAccess
from kprune.forward import output_projection
from kprune.masks import Masks
from kprune.methods.budget import (
    BudgetedCopy,
    SublayerCallback,
    emit,
    finish,
    prepare_copy,
    round_masks,
    untuned_indices,
)
from kprune.methods.kwon.config import KwonConfig
from kprune.methods.kwon.fisher import MaskGradients, collect_mask_gradients
from kprune.methods.kwon.rearrange import rearrange_masks
from kprune.methods.kwon.search import search_masks
from kprune.methods.kwon.tuning import LayerwiseTuner, ScaleOutcome, scale_log
from kprune.result import PruneResult, SublayerLog
from kprune.sublayer import FFN, MHA, feature_gates, sublayer_count, sublayer_index, unit_gates


@dataclass(frozen=True)
class KwonPlan:
    """Everything decided before the weights are touched."""

    masks: Masks  # keep-masks in the original unit indices
    unit_gates: dict[int, torch.Tensor]  # sublayer -> [units] float: 0 pruned, tuned scale kept
    gradients: MaskGradients
    logs: tuple[SublayerLog, ...]
    untuned: tuple[int, ...]


def _fisher_totals(gradients: MaskGradients) -> dict[int, float]:
    heads, neurons = gradients.head_fisher(), gradients.neuron_fisher()
    totals = {}
    for layer in range(heads.shape[0]):
        totals[sublayer_index(layer, MHA)] = float(heads[layer].sum())
        totals[sublayer_index(layer, FFN)] = float(neurons[layer].sum())
    return totals


def _tune(
    run: BudgetedCopy,
    masks: Masks,
    config: KwonConfig,
    totals: dict[int, float],
    on_sublayer: SublayerCallback | None,
) -> tuple[dict[int, torch.Tensor], list[SublayerLog]]:
    """Step 4 sublayer by sublayer (or only the log entries when tuning is off)."""
    gates = unit_gates(masks)
    keeps = {k: g != 0 for k, g in gates.items()}
    cls_only = run.access.task_kind() != "qa"  # classification/regression heads read position 0
    tuner = (
        LayerwiseTuner(run.access, run.batches, config.damping, cls_only)
        if config.tune_masks
        else None
    )
    logs = []
    for index in range(sublayer_count(masks.num_layers)):
        started = time.perf_counter()
        outcome: ScaleOutcome | None = None
        if tuner is not None:
            gates[index], outcome = tuner.tune(index, gates[index])
        # predictive_total: Σ of the sublayer's diagonal Fisher (true-label loss); Kwon et al.
        # measure no representational knowledge, so representational_total stays 0
        entry = scale_log(
            index,
            keeps[index],
            outcome,
            "tuning off",
            seconds=time.perf_counter() - started,
            ridge=config.damping**2,
            predictive_total=totals[index],
        )
        logs.append(entry)
        emit([entry], on_sublayer)
    return gates, logs


def plan_kwon(
    run: BudgetedCopy, config: KwonConfig, on_sublayer: SublayerCallback | None = None
) -> KwonPlan:
    """Steps 1-4 on the working copy (weights unchanged): masks and tuned unit gates."""
    gradients = collect_mask_gradients(run.access, run.batches, run.access.task_kind())
    masks = search_masks(
        gradients.head_fisher(),
        gradients.neuron_fisher(),
        run.head_cost,
        run.neuron_cost,
        run.limit,
    )
    if config.rearrange:
        masks = rearrange_masks(masks, gradients.heads, gradients.neurons)
    masks = round_masks(run, masks, gradients.head_fisher(), gradients.neuron_fisher())
    gates, logs = _tune(run, masks, config, _fisher_totals(gradients), on_sublayer)
    untuned = untuned_indices(logs, config.tune_masks)
    return KwonPlan(masks, gates, gradients, tuple(logs), untuned)


@torch.no_grad()
def fold_unit_gates(access: EncoderAccess, gates: dict[int, torch.Tensor]) -> None:
    """Multiply each output projection's input columns by its unit gate (in place).

    Pruned columns become 0 and are sliced away by the surgery right after.
    """
    for index, gate in feature_gates(gates, access.unit_width).items():
        linear = output_projection(access, index)
        linear.weight.mul_(gate.to(linear.weight)[None, :])


def run_kwon(
    model: nn.Module,
    batches: Sequence[dict[str, torch.Tensor]],
    config: KwonConfig,
    on_sublayer: SublayerCallback | None = None,
) -> PruneResult:
    """Prune ``model`` with Kwon et al. 2022; returns a dense pruned copy (input never mutated).

    Batches need true labels: `labels` [B], or `start_positions`/`end_positions` [B] for QA.
    """
    started = time.perf_counter()
    run = prepare_copy(model, batches, config)
    plan = plan_kwon(run, config, on_sublayer)
    if config.tune_masks:
        fold_unit_gates(run.access, plan.unit_gates)
    return finish(run, plan.masks, config, started, plan.logs, plan.untuned, "kwon")
