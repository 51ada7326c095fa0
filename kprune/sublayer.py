"""The one place that knows sublayer numbering (k = 2·layer: that layer's MHA; k = 2·layer + 1: its
FFN) and the feature layout of an MHA (head h spans context dims h·d_h .. (h+1)·d_h − 1).
Pure index arithmetic on ints and tensors: it never reads or changes a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from kprune.masks import Masks

Kind = Literal["mha", "ffn"]
MHA: Kind = "mha"
FFN: Kind = "ffn"


@dataclass(frozen=True)
class Sublayer:
    """Sublayer ``index`` of the encoder, bottom to top (MHA and FFN alternate)."""

    index: int

    @property
    def layer(self) -> int:
        return self.index // 2

    @property
    def is_ffn(self) -> bool:
        return self.index % 2 == 1

    @property
    def is_mha(self) -> bool:
        return not self.is_ffn

    @property
    def kind(self) -> Kind:
        return FFN if self.is_ffn else MHA

    def features_per_unit(self, head_size: int) -> int:
        """d_h context dims per head; one activation per neuron."""
        return 1 if self.is_ffn else head_size


def sublayer_index(layer: int, kind: Kind) -> int:
    """Index of the ``kind`` sublayer of encoder layer ``layer``."""
    return 2 * layer + int(kind == FFN)


def sublayer_count(num_layers: int) -> int:
    return 2 * num_layers


def head_dims(heads: torch.Tensor, head_size: int) -> torch.Tensor:
    """Context-dim indices [n·d_h] spanned by the head indices ``heads`` [n], in order."""
    return (heads[:, None] * head_size + torch.arange(head_size)[None, :]).flatten()


def head_dims_mask(head_keep: torch.Tensor, head_size: int) -> torch.Tensor:
    """Per-head values [heads] (mask or gate) -> per-context-dim values [heads·d_h]."""
    return head_keep.repeat_interleave(head_size)


def per_head(dim_values: torch.Tensor, head_size: int) -> torch.Tensor:
    """Per-context-dim values [heads·d_h] -> [heads, d_h]; reduce dim 1 for one value per head."""
    return dim_values.view(-1, head_size)


def kept_features(keep: torch.Tensor, index: int, head_size: int) -> torch.Tensor:
    """Feature indices of the units kept in sublayer ``index`` (the input dims of its W_out)."""
    kept = torch.nonzero(keep).flatten()
    return kept if Sublayer(index).is_ffn else head_dims(kept, head_size)


def feature_gate(unit_gate: torch.Tensor, index: int, head_size: int) -> torch.Tensor:
    """Per-unit gate of sublayer ``index`` -> the per-feature gate kprune.forward applies."""
    return unit_gate if Sublayer(index).is_ffn else head_dims_mask(unit_gate, head_size)


def unit_gates(masks: Masks) -> dict[int, torch.Tensor]:
    """0/1 float gates per unit of every sublayer, keyed by sublayer index."""
    gates = {}
    for layer in range(masks.num_layers):
        gates[sublayer_index(layer, MHA)] = masks.head_keep[layer].float()
        gates[sublayer_index(layer, FFN)] = masks.neuron_keep[layer].float()
    return gates


def feature_gates(gates: dict[int, torch.Tensor], head_size: int) -> dict[int, torch.Tensor]:
    """Per-unit gates of several sublayers -> their per-feature gates."""
    return {index: feature_gate(gate, index, head_size) for index, gate in gates.items()}


def mask_gates(masks: Masks, head_size: int) -> dict[int, torch.Tensor]:
    """Per-feature 0/1 gates that make kprune.forward compute the model masked by ``masks``."""
    return feature_gates(unit_gates(masks), head_size)
