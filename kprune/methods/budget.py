"""What every pruning method, Kprune included, shares around its mask decision: preflight checks,
frozen working copies, the identical budget (FLOPs, spec §7, s = calibration mean length unless
given; or parameters, kprune.params), progress callbacks and the dense PruneResult. It never
decides which units to keep.
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
from kprune.errors import BudgetUnreachableError
from kprune.flops import FlopsReport, attention_unit_flops, neuron_flops
from kprune.masks import Masks
from kprune.methods.base_config import BudgetFields
from kprune.params import ParamsReport, unit_parameters
from kprune.preflight import check_device, check_eval_mode
from kprune.result import PruneResult, SublayerLog, sublayer_log
from kprune.search import round_down_keep
from kprune.sublayer import FFN, MHA, Sublayer, sublayer_index
from kprune.surgery import count_parameters, remove_pruned_units

SublayerCallback = Callable[[SublayerLog], None]


def frozen_copy(model: nn.Module, device: str) -> nn.Module:
    """Deep copy on ``device`` in eval mode with no gradients: methods work on it, never on the
    caller's model."""
    clone = copy.deepcopy(model).to(device).eval()
    for param in clone.parameters():
        param.requires_grad_(False)
    return clone


@dataclass(frozen=True)
class UnitCosts:
    """Cost of one attention unit and one FFN neuron in one metric (FLOPs or parameters), plus
    what no unit carries (parameters of embeddings, norms, heads; 0 for FLOPs)."""

    unit: float
    neuron: float
    fixed: float = 0.0

    def prunable(self, units: Sequence[int], neurons: Sequence[int]) -> float:
        """Cost of the units and neurons kept per layer (``fixed`` not included)."""
        return sum(u * self.unit + n * self.neuron for u, n in zip(units, neurons))


@dataclass
class BudgetedCopy:
    """A frozen working copy of the model plus the budget numbers every method needs.

    The budget's metric is FLOPs, or parameters with BudgetFields.target_params_ratio; head_cost,
    neuron_cost, original and budget are all in that metric (methods need not know which)."""

    access: EncoderAccess  # the copy (never the caller's model), on the device
    batches: list[PreparedBatch]
    seq_len: float  # s of the FLOPs model
    heads: list[int]  # attention units per layer of the unpruned model (heads, or GQA groups)
    neurons: list[int]  # neurons per layer
    flops_costs: UnitCosts  # F_unit, F_neuron at s (kprune.flops)
    params_costs: UnitCosts  # parameters per unit / neuron, and those no unit carries
    budget_in_params: bool  # True: the budget's metric is parameters
    budget: float  # what the kept units may cost, in the budget's metric
    params_target: float | None = None  # target_params_ratio · original parameters (the scope's)
    round_to: int | None = None  # BudgetFields.round_to: kept widths rounded down to multiples

    @property
    def costs(self) -> UnitCosts:
        return self.params_costs if self.budget_in_params else self.flops_costs

    @property
    def head_cost(self) -> float:
        """One attention unit in the budget's metric (F_unit, or its parameters)."""
        return self.costs.unit

    @property
    def neuron_cost(self) -> float:
        return self.costs.neuron

    @property
    def original(self) -> float:
        """What every unit of the unpruned model costs together, in the budget's metric."""
        return self.costs.prunable(self.heads, self.neurons)

    @property
    def limit(self) -> float:
        """What a search may spend: the budget less a 1e-9 relative margin, so float round-off in
        summing per-layer FLOPs never lifts the reported ratio over the target; at ratio 1 the
        margin is added instead, so that keeping everything fits."""
        if self.budget >= self.original:
            return self.original * (1 + 1e-9)
        return self.budget * (1 - 1e-9)

    @property
    def keeps_everything(self) -> bool:
        """The budget is the whole unpruned model (ratio 1): nothing needs to go."""
        return self.budget >= self.original

    def unit_cost(self, index: int) -> float:
        """Cost of one unit (attention unit or neuron) of sublayer ``index``."""
        return self.neuron_cost if Sublayer(index).is_ffn else self.head_cost

    def unit_multiple(self, index: int) -> int:
        """Kept units of sublayer ``index`` come in steps of this (1: no rounding): FFN neurons
        in steps of round_to; attention units so that units·unit_width is a multiple of it."""
        if self.round_to is None:
            return 1
        if Sublayer(index).is_ffn:
            return self.round_to
        return self.round_to // math.gcd(self.round_to, self.access.unit_width)

    def full_masks(self) -> Masks:
        """Keep-masks keeping every unit of the unpruned model."""
        return Masks(
            torch.ones(len(self.heads), max(self.heads), dtype=torch.bool),
            torch.ones(len(self.neurons), max(self.neurons), dtype=torch.bool),
        )

    def flops(self, masks: Masks) -> float:
        """Counted FLOPs of the model ``masks`` keeps (whatever the budget's metric)."""
        return self.flops_costs.prunable(masks.heads_per_layer(), masks.neurons_per_layer())

    def params(self, masks: Masks) -> int:
        """Parameters of the model ``masks`` keeps, within the budget's parameter scope."""
        kept = self.params_costs.prunable(masks.heads_per_layer(), masks.neurons_per_layer())
        return int(round(self.params_costs.fixed + kept))


def _unit_costs(
    access: EncoderAccess, s: float, config: BudgetFields
) -> tuple[UnitCosts, UnitCosts]:
    """(FLOPs costs at s, parameter costs in config.params_scope) of the unpruned model."""
    d, d_h, g = access.hidden_size, access.head_size, access.heads_per_unit
    ffn_matrices = len(access.ffn_input_roles()) + 1
    flops = UnitCosts(attention_unit_flops(s, d, d_h, g), neuron_flops(s, d, ffn_matrices))
    per_unit, per_neuron = unit_parameters(access)
    params = UnitCosts(float(per_unit), float(per_neuron))
    if config.params_scope == "model":
        layers = range(len(access.layers))
        carried = params.prunable(
            [access.num_units(i) for i in layers], [access.num_neurons(i) for i in layers]
        )
        params = UnitCosts(params.unit, params.neuron, count_parameters(access.model) - carried)
    return flops, params


def _params_budget(params: UnitCosts, original: float, ratio: float) -> float:
    """What the kept units may carry so that fixed + kept <= ratio · (fixed + original)."""
    budget = ratio * (params.fixed + original) - params.fixed
    if budget <= 0:
        raise BudgetUnreachableError(
            f"target_params_ratio={ratio} keeps {ratio * (params.fixed + original):.0f} "
            f"parameters, but {params.fixed:.0f} are carried by no prunable unit (embeddings, "
            "norms, heads); raise the ratio or use params_scope='sublayers'"
        )
    return budget


def prepare_copy(
    model: nn.Module, batches: Sequence[dict[str, torch.Tensor]], config: BudgetFields
) -> BudgetedCopy:
    """Checks (eval mode, device, batches) then a frozen deep copy and its budget."""
    check_eval_mode(model)
    check_device(config.device)
    prepared = prepare_batches(batches, config.device)
    access = EncoderAccess(frozen_copy(model, config.device))
    layers = range(len(access.layers))
    heads = [access.num_units(i) for i in layers]
    neurons = [access.num_neurons(i) for i in layers]
    s = config.seq_len if config.seq_len is not None else mean_sequence_length(prepared)
    flops, params = _unit_costs(access, s, config)
    in_params = config.target_params_ratio is not None
    params_target = None
    if config.target_params_ratio is not None:
        original = params.prunable(heads, neurons)
        budget = _params_budget(params, original, config.target_params_ratio)
        params_target = config.target_params_ratio * (params.fixed + original)
    else:
        budget = config.target_flops_ratio * flops.prunable(heads, neurons)
    return BudgetedCopy(
        access=access,
        batches=prepared,
        seq_len=s,
        heads=heads,
        neurons=neurons,
        flops_costs=flops,
        params_costs=params,
        budget_in_params=in_params,
        budget=budget,
        params_target=params_target,
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
    """The result of a working copy already cut down to ``masks``; FLOPs and parameters against
    the budget."""
    full = run.full_masks()
    original_flops = run.flops(full)
    flops = FlopsReport(
        original_flops, config.target_flops_ratio * original_flops, run.flops(masks), run.seq_len
    )
    params = ParamsReport(
        run.params(full), run.params(masks), config.params_scope, run.params_target
    )
    model = run.access.model.cpu()
    return PruneResult(
        model,
        masks,
        flops,
        config,
        time.perf_counter() - started,
        tuple(logs),
        untuned,
        method,
        params,
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
