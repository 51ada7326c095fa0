"""What every baseline method shares around its mask decision: preflight checks, a frozen working
copy, the FLOPs budget (Kprune's model, spec §7, s = calibration mean length unless given, so every
method gets the identical budget) and the dense PruneResult. It never decides which units to keep.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from kprune.arch import EncoderAccess
from kprune.calibration import PreparedBatch, mean_sequence_length, prepare_batches
from kprune.config import check_positive, check_ratio
from kprune.errors import ConfigError
from kprune.flops import FlopsReport, encoder_flops, head_flops, neuron_flops
from kprune.masks import Masks
from kprune.preflight import check_device, check_eval_mode
from kprune.result import PruneResult, SublayerLog
from kprune.surgery import remove_pruned_units

SublayerCallback = Callable[[SublayerLog], None]


def check_budget_fields(target_flops_ratio: float, seq_len: float | None, device: str) -> None:
    """Validation shared by the baseline configs (same rules as KpruneConfig)."""
    check_ratio(target_flops_ratio)
    check_positive(seq_len, "seq_len")
    if not isinstance(device, str) or not device.startswith(("cpu", "cuda")):
        raise ConfigError(f"device={device!r}; use 'cpu' or 'cuda[:N]'")


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

    @property
    def limit(self) -> float:
        """What a search may spend: the budget less a 1e-9 relative margin, so float round-off in
        summing per-layer FLOPs never lifts the reported ratio over the target; at ratio 1 the
        margin is added instead, so that keeping everything fits."""
        if self.budget >= self.original:
            return self.original * (1 + 1e-9)
        return self.budget * (1 - 1e-9)

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
    model: nn.Module,
    batches: Sequence[dict[str, torch.Tensor]],
    target_flops_ratio: float,
    seq_len: float | None,
    device: str,
) -> BudgetedCopy:
    """Checks (eval mode, device, batches) then a frozen deep copy and its FLOPs budget."""
    check_eval_mode(model)
    check_device(device)
    prepared = prepare_batches(batches, device)
    clone = copy.deepcopy(model).to(device).eval()
    for param in clone.parameters():
        param.requires_grad_(False)
    access = EncoderAccess(clone)
    layers = range(len(access.layers))
    heads = [access.num_heads(i) for i in layers]
    neurons = [access.num_neurons(i) for i in layers]
    s = seq_len if seq_len is not None else mean_sequence_length(prepared)
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
        budget=target_flops_ratio * original,
    )


def plain_logs(masks: Masks, note: str) -> list[SublayerLog]:
    """Per-sublayer log entries of a method that decides masks at once and tunes nothing."""
    logs = []
    for layer in range(masks.num_layers):
        for kind, keep in (("mha", masks.head_keep[layer]), ("ffn", masks.neuron_keep[layer])):
            logs.append(
                SublayerLog(
                    index=2 * layer + int(kind == "ffn"),
                    layer=layer,
                    kind=kind,
                    units_total=int(keep.numel()),
                    units_kept=int(keep.sum()),
                    residual_before=None,
                    residual_after=None,
                    tuned=False,
                    note=note,
                    ridge=0.0,
                    seconds=0.0,
                    predictive_total=0.0,
                    representational_total=0.0,
                )
            )
    return logs


def emit(logs: Sequence[SublayerLog], on_sublayer: SublayerCallback | None) -> None:
    if on_sublayer is not None:
        for entry in logs:
            on_sublayer(entry)


def finish(
    run: BudgetedCopy,
    masks: Masks,
    config: Any,
    started: float,
    logs: Sequence[SublayerLog],
    untuned: tuple[int, ...],
    method: str,
) -> PruneResult:
    """Slice the working copy down to ``masks`` (in place) and report FLOPs against the budget."""
    model = remove_pruned_units(run.access.model, masks, inplace=True).cpu()
    flops = FlopsReport(run.original, run.budget, run.flops(masks), run.seq_len)
    return PruneResult(
        model, masks, flops, config, time.perf_counter() - started, tuple(logs), untuned, method
    )
