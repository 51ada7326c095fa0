"""KCM's "merge & sort, top-k" (paper Fig. 1): every head is kept, and the FLOPs left over buy the
FFN neurons with the highest R2D2 scores across all layers. Also the one place that says when a
budget is out of KCM's reach. Tensors and FLOPs numbers in, keep-masks out; no model.
"""

from __future__ import annotations

import math

import torch

from kprune.errors import BudgetUnreachableError
from kprune.methods.budget import BudgetedCopy
from kprune.search import round_down_keep
from kprune.sublayer import FFN, sublayer_index


def attention_flops(run: BudgetedCopy) -> float:
    """Counted FLOPs of all heads (spec §7): what KCM always keeps."""
    return sum(run.heads) * run.head_cost


def lowest_reachable_ratio(run: BudgetedCopy) -> float:
    """Kept/original FLOPs with every head kept and every FFN neuron removed."""
    return attention_flops(run) / run.original


def neuron_budget(run: BudgetedCopy) -> float:
    """FLOPs the kept neurons may spend; raises BudgetUnreachableError if the heads alone
    exceed the budget (KCM never prunes heads)."""
    spare = run.limit - attention_flops(run)
    if spare < 0:
        floor = lowest_reachable_ratio(run)
        raise BudgetUnreachableError(
            f"KCM prunes FFN neurons only, so the lowest kept FLOPs ratio it can reach here is "
            f"{floor:.4f} (every head kept, every FFN neuron removed; seq_len s = "
            f"{run.seq_len:.2f}), above target_flops_ratio={run.budget / run.original:.4f}. "
            f"Pass a target_flops_ratio above {floor:.4f}, or use a method that also prunes "
            "heads (kprune, kwon) for lower budgets."
        )
    return spare


def select_neurons(scores: torch.Tensor, neuron_cost: float, budget: float) -> torch.Tensor:
    """[layers, neurons] bool: the most neurons whose FLOPs fit ``budget``, highest score first.

    Equal scores are taken in (layer, index) order, so the budget is used to the last neuron
    that fits instead of dropping a whole tie group.
    """
    total = scores.numel()
    count = min(total, max(0, math.floor(budget / neuron_cost)))
    while count > 0 and count * neuron_cost > budget:  # float round-off in the floor above
        count -= 1
    order = torch.argsort(scores.double().flatten().cpu(), descending=True, stable=True)
    keep = torch.zeros(total, dtype=torch.bool)
    keep[order[:count]] = True
    return keep.view(scores.shape)


def round_neuron_keep(run: BudgetedCopy, keep: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """``keep`` with each layer's kept neurons rounded down to BudgetFields.round_to (lowest
    scores dropped). Heads are not touched: KCM keeps all of them at their original width."""
    if run.round_to is None:
        return keep
    rows = [
        round_down_keep(keep[layer], scores[layer], run.unit_multiple(sublayer_index(layer, FFN)))
        for layer in range(keep.shape[0])
    ]
    return torch.stack(rows)
