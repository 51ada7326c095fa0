"""Kwon et al. 2022 as a kprune method (spec §12): Fisher of head/neuron masks from the true-label
task loss -> (h, n) search under the FLOPs budget -> per-layer rearrangement -> layer-wise LS mask
scales -> scales folded into the output projections -> physical pruning (kprune.surgery).

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
8. The search scans h from 1 head (kwon_search.MIN_HEADS) unless not even one head fits.
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
from kprune.masks import Masks
from kprune.methods.budget import BudgetedCopy, SublayerCallback, emit, finish, prepare_copy
from kprune.methods.kwon_config import KwonConfig
from kprune.methods.kwon_fisher import MaskGradients, collect_mask_gradients
from kprune.methods.kwon_rearrange import rearrange_masks
from kprune.methods.kwon_search import search_masks
from kprune.methods.kwon_tuning import LayerwiseTuner, ScaleOutcome, dim_gate
from kprune.result import PruneResult, SublayerLog


@dataclass(frozen=True)
class KwonPlan:
    """Everything decided before the weights are touched."""

    masks: Masks  # keep-masks in the original unit indices
    unit_gates: dict[int, torch.Tensor]  # sublayer -> [units] float: 0 pruned, tuned scale kept
    gradients: MaskGradients
    logs: tuple[SublayerLog, ...]
    untuned: tuple[int, ...]


def unit_gates_of(masks: Masks) -> dict[int, torch.Tensor]:
    """0/1 unit gates of every sublayer (MHA k = 2l, FFN k = 2l + 1)."""
    gates = {}
    for layer in range(masks.num_layers):
        gates[2 * layer] = masks.head_keep[layer].float()
        gates[2 * layer + 1] = masks.neuron_keep[layer].float()
    return gates


def feature_gates(unit_gates: dict[int, torch.Tensor], head_size: int) -> dict[int, torch.Tensor]:
    """Unit gates expanded to kprune.forward's per-feature gates (heads span head_size dims)."""
    return {k: dim_gate(g, k, head_size) for k, g in unit_gates.items()}


def _log_entry(
    index: int,
    keep: torch.Tensor,
    outcome: ScaleOutcome | None,
    *,
    seconds: float,
    ridge: float,
    fisher_total: float,
) -> SublayerLog:
    layer, is_ffn = divmod(index, 2)
    return SublayerLog(
        index=index,
        layer=layer,
        kind="ffn" if is_ffn else "mha",
        units_total=int(keep.numel()),
        units_kept=int(keep.sum()),
        residual_before=outcome.residual_before if outcome else None,
        residual_after=outcome.residual_after if outcome else None,
        tuned=bool(outcome and outcome.scales is not None),
        note=outcome.note if outcome else "tuning off",
        ridge=ridge if outcome else 0.0,
        seconds=seconds,
        predictive_total=fisher_total,  # Σ of the sublayer's diagonal Fisher (true-label loss)
        representational_total=0.0,  # Kwon et al. measure no representational knowledge
    )


def _fisher_totals(gradients: MaskGradients) -> dict[int, float]:
    heads, neurons = gradients.head_fisher(), gradients.neuron_fisher()
    totals = {}
    for layer in range(heads.shape[0]):
        totals[2 * layer] = float(heads[layer].sum())
        totals[2 * layer + 1] = float(neurons[layer].sum())
    return totals


def _tune(
    run: BudgetedCopy,
    masks: Masks,
    config: KwonConfig,
    totals: dict[int, float],
    on_sublayer: SublayerCallback | None,
) -> tuple[dict[int, torch.Tensor], list[SublayerLog]]:
    """Step 4 sublayer by sublayer (or only the log entries when tuning is off)."""
    gates = unit_gates_of(masks)
    keeps = {k: g != 0 for k, g in gates.items()}
    cls_only = run.access.task_kind() != "qa"  # classification/regression heads read position 0
    tuner = (
        LayerwiseTuner(run.access, run.batches, config.damping, cls_only)
        if config.tune_masks
        else None
    )
    logs = []
    for index in range(2 * masks.num_layers):
        started = time.perf_counter()
        outcome: ScaleOutcome | None = None
        if tuner is not None:
            gates[index], outcome = tuner.tune(index, gates[index])
        entry = _log_entry(
            index,
            keeps[index],
            outcome,
            seconds=time.perf_counter() - started,
            ridge=config.damping**2,
            fisher_total=totals[index],
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
    gates, logs = _tune(run, masks, config, _fisher_totals(gradients), on_sublayer)
    untuned = tuple(e.index for e in logs if config.tune_masks and e.units_kept and not e.tuned)
    return KwonPlan(masks, gates, gradients, tuple(logs), untuned)


@torch.no_grad()
def fold_unit_gates(access: EncoderAccess, unit_gates: dict[int, torch.Tensor]) -> None:
    """Multiply each output projection's input columns by its unit gate (in place).

    Pruned columns become 0 and are sliced away by the surgery right after.
    """
    for index, gate in feature_gates(unit_gates, access.head_size).items():
        layer, is_ffn = divmod(index, 2)
        linear = access.module(layer, "ffn_out" if is_ffn else "attn_out")
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
    run = prepare_copy(model, batches, config.target_flops_ratio, config.seq_len, config.device)
    plan = plan_kwon(run, config, on_sublayer)
    if config.tune_masks:
        fold_unit_gates(run.access, plan.unit_gates)
    return finish(run, plan.masks, config, started, plan.logs, plan.untuned, "kwon")
