"""Kwon et al. step 1 (spec §12): per-batch gradients of the task loss on TRUE labels with respect
to every head and neuron mask (all at 1), and the diagonal Fisher I_i = Σ_b g_b,i².

Reads the model through kprune.forward gates; never changes weights and never decides masks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from kprune.arch import EncoderAccess
from kprune.calibration import PreparedBatch
from kprune.errors import CalibrationError
from kprune.forward import gate_gradients, gradient_gates, model_outputs
from kprune.sublayer import FFN, MHA, per_head, sublayer_index

# Label keys each task's loss reads from the batch extras (HF's names).
LABEL_KEYS: dict[str, tuple[str, ...]] = {
    "classification": ("labels",),
    "regression": ("labels",),
    "qa": ("start_positions", "end_positions"),
}


def check_labels(batches: Sequence[PreparedBatch], task: str) -> None:
    """Raise CalibrationError naming the first missing or mis-shaped label key."""
    for position, batch in enumerate(batches):
        for key in LABEL_KEYS[task]:
            if key not in batch.extras:
                raise CalibrationError(
                    f"calibration batch {position} has no '{key}': Kwon et al. need the true "
                    f"labels of a {task} task ({', '.join(LABEL_KEYS[task])}) in every batch"
                )
            if batch.extras[key].numel() != batch.size:
                raise CalibrationError(
                    f"calibration batch {position}: '{key}' has {batch.extras[key].numel()} "
                    f"values for {batch.size} sequences; pass one label per sequence"
                )


def _classification(out: torch.Tensor, extras: dict[str, torch.Tensor]) -> torch.Tensor:
    return F.cross_entropy(out.float(), extras["labels"].long().view(-1))


def _regression(out: torch.Tensor, extras: dict[str, torch.Tensor]) -> torch.Tensor:
    return F.mse_loss(out.float().view(-1), extras["labels"].float().view(-1))


def _qa(out: torch.Tensor, extras: dict[str, torch.Tensor]) -> torch.Tensor:
    # out: [B, T, 2]; as HF: positions outside the sequence are clamped to T and ignored.
    seq = out.shape[1]
    losses = [
        F.cross_entropy(
            out[..., i].float(),
            extras[key].long().view(-1).clamp(0, seq),
            ignore_index=seq,
        )
        for i, key in enumerate(LABEL_KEYS["qa"])
    ]
    return (losses[0] + losses[1]) / 2


# The model's own training loss (what `outputs.loss` is in the reference), batch mean.
TRUE_LABEL_LOSSES: dict[str, Callable[[torch.Tensor, dict[str, torch.Tensor]], torch.Tensor]] = {
    "classification": _classification,
    "regression": _regression,
    "qa": _qa,
}


@dataclass(frozen=True)
class MaskGradients:
    """Per-batch gradients of the batch-mean loss w.r.t. each mask entry (float64, CPU)."""

    heads: torch.Tensor  # [batches, layers, heads]
    neurons: torch.Tensor  # [batches, layers, neurons]

    def head_fisher(self) -> torch.Tensor:
        """Diagonal Fisher of the head masks, [layers, heads]."""
        return self.heads.pow(2).sum(dim=0)

    def neuron_fisher(self) -> torch.Tensor:
        """Diagonal Fisher of the neuron masks, [layers, neurons]."""
        return self.neurons.pow(2).sum(dim=0)


def collect_mask_gradients(
    access: EncoderAccess, batches: Sequence[PreparedBatch], task: str
) -> MaskGradients:
    """One pass over ``batches`` with the true-label task loss; labels must be present."""
    check_labels(batches, task)
    loss_fn = TRUE_LABEL_LOSSES[task]
    device = next(access.model.parameters()).device
    layers = range(len(access.layers))
    heads, neurons = [], []
    for batch in batches:
        gates = gradient_gates(access, 0, device)
        with torch.enable_grad():
            loss = loss_fn(model_outputs(access, batch.inputs, gates), batch.extras)
            named = gate_gradients(loss, gates)
        # HF's head_mask scales a head's attention probabilities, i.e. all d_h context dims of
        # the head at once: its gradient is the sum of the per-dim gradients.
        head_grads = [named[sublayer_index(i, MHA)] for i in layers]
        heads.append(torch.stack([per_head(g, access.unit_width).sum(dim=1) for g in head_grads]))
        neurons.append(torch.stack([named[sublayer_index(i, FFN)] for i in layers]))
    return MaskGradients(torch.stack(heads).double().cpu(), torch.stack(neurons).double().cpu())
