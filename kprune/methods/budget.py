"""What every pruning method, Kprune included, shares around its mask decision: preflight checks,
frozen working copies, the identical FLOPs budget (spec §7; s = calibration mean length unless
given), progress callbacks and the dense PruneResult. It never decides which units to keep.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from kprune.arch import EncoderAccess
from kprune.calibration import PreparedBatch, mean_sequence_length, prepare_batches
from kprune.flops import FlopsReport, encoder_flops, head_flops, neuron_flops
from kprune.masks import Masks
from kprune.methods.base_config import BudgetFields
from kprune.preflight import check_device, check_eval_mode
from kprune.result import PruneResult, SublayerLog, sublayer_log
from kprune.search import round_down_keep
from kprune.sublayer import FFN, MHA, Sublayer, sublayer_index
from kprune.surgery import remove_pruned_units

SublayerCallback = Callable[[SublayerLog], None]


def frozen_copy(model: nn.Module, device: str) -> nn.Module:
    """Deep copy on ``device`` in eval mode with no gradients: methods work on it, never on the
    caller's model."""
    clone = copy.deepcopy(model).to(device).eval()
    for param in clone.parameters():
        param.requires_grad_(False)
    return clone


@dataclass
class BudgetedCopy:
    """A frozen working copy of the model plus the FLOPs numbers every method needs."""

    access: EncoderAccess  # the copy (never the caller's model), on the device
    batches: list[PreparedBatch]
    seq_len: float  # s of the FLOPs model
    head_cost: float  # F_head at s
    neuron_cost: float  # F_neuron at s
    heads: list[int]  # heads per layer of the unpruned model
    neurons: list[int]  # neurons per layer
    original: float  # counted FLOPs of the unpruned encoder
    budget: float  # target_flops_ratio · original
    round_to: int | None = None  # BudgetFields.round_to: kept widths rounded down to multiples

    @property
    def limit(self) -> float:
        """What a search may spend: the budget less a 1e-9 relative margin, so float round-off in
        summing per-layer FLOPs never lifts the reported ratio over the target; at ratio 1 the
        margin is added instead, so that keeping everything fits."""
        if self.budget >= self.original:
            return self.original * (1 + 1e-9)
        return self.budget * (1 - 1e-9)

    def unit_cost(self, index: int) -> float:
        """FLOPs of one unit (head or neuron) of sublayer ``index``."""
        return self.neuron_cost if Sublayer(index).is_ffn else self.head_cost

    def unit_multiple(self, index: int) -> int:
        """Kept units of sublayer ``index`` come in steps of this (1: no rounding): FFN neurons
        in steps of round_to; heads so that heads·head_size is a multiple of round_to."""
        if self.round_to is None:
            return 1
        if Sublayer(index).is_ffn:
            return self.round_to
        return self.round_to // math.gcd(self.round_to, self.access.head_size)

    def full_masks(self) -> Masks:
        """Keep-masks keeping every unit of the unpruned model."""
        return Masks(
            torch.ones(len(self.heads), max(self.heads), dtype=torch.bool),
            torch.ones(len(self.neurons), max(self.neurons), dtype=torch.bool),
        )

    def flops(self, masks: Masks) -> float:
        access = self.access
        return encoder_flops(
            masks.heads_per_layer(),
            masks.neurons_per_layer(),
            self.seq_len,
            access.hidden_size,
            access.head_size,
        )


def prepare_copy(
    model: nn.Module, batches: Sequence[dict[str, torch.Tensor]], config: BudgetFields
) -> BudgetedCopy:
    """Checks (eval mode, device, batches) then a frozen deep copy and its FLOPs budget."""
    check_eval_mode(model)
    check_device(config.device)
    prepared = prepare_batches(batches, config.device)
    access = EncoderAccess(frozen_copy(model, config.device))
    layers = range(len(access.layers))
    heads = [access.num_heads(i) for i in layers]
    neurons = [access.num_neurons(i) for i in layers]
    s = config.seq_len if config.seq_len is not None else mean_sequence_length(prepared)
    d, d_h = access.hidden_size, access.head_size
    original = encoder_flops(heads, neurons, s, d, d_h)
    return BudgetedCopy(
        access=access,
        batches=prepared,
        seq_len=s,
        head_cost=head_flops(s, d, d_h),
        neuron_cost=neuron_flops(s, d),
        heads=heads,
        neurons=neurons,
        original=original,
        budget=config.target_flops_ratio * original,
        round_to=config.round_to,
    )


def round_masks(
    run: BudgetedCopy, masks: Masks, head_scores: torch.Tensor, neuron_scores: torch.Tensor
) -> Masks:
    """``masks`` with each layer's kept heads and neurons rounded down to `unit_multiple`
    (lowest scores dropped; scores shaped like the masks). Unchanged without round_to; never
    adds a unit, so masks within the budget stay within it."""
    if run.round_to is None:
        return masks
    heads, neurons = masks.head_keep.clone(), masks.neuron_keep.clone()
    for layer in range(masks.num_layers):
        mha, ffn = sublayer_index(layer, MHA), sublayer_index(layer, FFN)
        heads[layer] = round_down_keep(heads[layer], head_scores[layer], run.unit_multiple(mha))
        neurons[layer] = round_down_keep(
            neurons[layer], neuron_scores[layer], run.unit_multiple(ffn)
        )
    return Masks(heads, neurons)


def plain_logs(masks: Masks, note: str) -> list[SublayerLog]:
    """Per-sublayer log entries of a method that decides masks at once and tunes nothing."""
    logs = []
    for layer in range(masks.num_layers):
        logs.append(sublayer_log(sublayer_index(layer, MHA), masks.head_keep[layer], note))
        logs.append(sublayer_log(sublayer_index(layer, FFN), masks.neuron_keep[layer], note))
    return logs


def emit(logs: Sequence[SublayerLog], on_sublayer: SublayerCallback | None) -> None:
    if on_sublayer is not None:
        for entry in logs:
            on_sublayer(entry)


def untuned_indices(logs: Sequence[SublayerLog], tuning: bool) -> tuple[int, ...]:
    """Sublayers that kept units but whose tuning failed or was rejected (none if tuning is off)."""
    return tuple(entry.index for entry in logs if tuning and entry.units_kept and not entry.tuned)


def report(
    run: BudgetedCopy,
    masks: Masks,
    config: BudgetFields,
    started: float,
    logs: Sequence[SublayerLog],
    untuned: tuple[int, ...],
    method: str,
) -> PruneResult:
    """The result of a working copy already cut down to ``masks``; FLOPs against the budget."""
    flops = FlopsReport(run.original, run.budget, run.flops(masks), run.seq_len)
    model = run.access.model.cpu()
    return PruneResult(
        model, masks, flops, config, time.perf_counter() - started, tuple(logs), untuned, method
    )


def finish(
    run: BudgetedCopy,
    masks: Masks,
    config: BudgetFields,
    started: float,
    logs: Sequence[SublayerLog],
    untuned: tuple[int, ...],
    method: str,
) -> PruneResult:
    """Slice the working copy down to ``masks`` (in place), then `report`."""
    remove_pruned_units(run.access.model, masks, inplace=True)
    return report(run, masks, config, started, logs, untuned, method)
