"""Kprune's knowledge measurement (spec §3): accumulate predictive (½·grad²) and representational
(feature energy × mean squared output weight) knowledge per head and neuron, then turn them into
scores per FLOP (§3.4). Tensors in, tensors out; no hooks, no model changes, no mask decisions.
"""

from __future__ import annotations

import torch

from kprune.arch import EncoderAccess
from kprune.forward import output_projection
from kprune.sublayer import Sublayer, per_head, sublayer_count


def _per_unit(
    values: torch.Tensor, index: int, head_size: int, heads_per_unit: int
) -> torch.Tensor:
    """Per-dim values -> per-unit: a head averages its d_h dims (reference pitfall 5); a GQA
    unit (key/value group) sums its query heads' values, since cutting it removes all of them."""
    if Sublayer(index).is_ffn:
        return values
    return per_head(values, head_size).mean(dim=1).view(-1, heads_per_unit).sum(dim=1)


class KnowledgeAccumulator:
    """Running sums of P (predictive) and R (representational) for sublayers start..2L-1."""

    def __init__(self, access: EncoderAccess, start: int) -> None:
        self.access = access
        self.start = start
        self.predictive: dict[int, torch.Tensor] = {}
        self.representational: dict[int, torch.Tensor] = {}
        self.sequences = 0
        self.tokens = 0
        # mean_r W_out[r, j]^2 per input dim j of each output projection (fixed during a pass).
        self._weight_energy: dict[int, torch.Tensor] = {}
        for index in range(start, sublayer_count(len(access.layers))):
            weight = output_projection(access, index).weight.detach()
            self._weight_energy[index] = weight.float().pow(2).mean(dim=0)

    def add(
        self,
        grads: dict[int, torch.Tensor],
        features: dict[int, torch.Tensor],
        batch_size: int,
    ) -> None:
        """Add one batch: ``grads[j]`` = d loss / d gate_j; ``features[j]`` = [N_tok, dims], the
        batch's real-token rows."""
        d_h, group = self.access.head_size, self.access.heads_per_unit
        tokens = 0
        for index, feats in features.items():
            tokens = int(feats.shape[0])
            energy = feats.detach().float().pow(2).sum(dim=0) * self._weight_energy[index]
            pred = 0.5 * grads[index].detach().float().pow(2)
            rep_unit = _per_unit(energy, index, d_h, group)
            pred_unit = _per_unit(pred, index, d_h, group)
            if index in self.predictive:
                self.predictive[index] += pred_unit
                self.representational[index] += rep_unit
            else:
                self.predictive[index] = pred_unit
                self.representational[index] = rep_unit
        self.sequences += batch_size
        self.tokens += tokens

    def scores(
        self,
        pred_weight: float,
        rep_weight: float,
        head_weight: float,
        head_flops: float,
        neuron_flops: float,
    ) -> dict[int, torch.Tensor]:
        """S = (λ_pred·P/N_seq + λ_rep·R/N_tok) / F_unit, times μ for heads (spec §3.4)."""
        out = {}
        for index, pred in self.predictive.items():
            value = pred_weight * pred / self.sequences
            value = value + rep_weight * self.representational[index] / self.tokens
            if Sublayer(index).is_ffn:
                out[index] = value / neuron_flops
            else:
                out[index] = head_weight * value / head_flops
        return out
