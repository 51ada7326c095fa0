"""The one place that knows sublayer numbering (k = 2·layer: that layer's MHA; k = 2·layer + 1: its
FFN) and the feature layout of an MHA: attention unit u spans context dims u·w .. (u+1)·w − 1, with
w = unit_width (d_h when a unit is a head; heads_per_unit·d_h when it is a GQA key/value group).
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

    def features_per_unit(self, unit_width: int) -> int:
        """unit_width context dims per attention unit; one activation per neuron."""
        return 1 if self.is_ffn else unit_width


def sublayer_index(layer: int, kind: Kind) -> int:
    """Index of the ``kind`` sublayer of encoder layer ``layer``."""
    return 2 * layer + int(kind == FFN)


def sublayer_count(num_layers: int) -> int:
    return 2 * num_layers


def head_dims(heads: torch.Tensor, unit_width: int) -> torch.Tensor:
    """Context-dim indices [n·w] spanned by the unit indices ``heads`` [n] (w = unit_width), in
    order. With w = d_h it also gives the k/v dims of GQA groups (one k/v head per group)."""
    return (heads[:, None] * unit_width + torch.arange(unit_width)[None, :]).flatten()


def head_dims_mask(head_keep: torch.Tensor, unit_width: int) -> torch.Tensor:
    """Per-unit values [units] (mask or gate) -> per-context-dim values [units·w]."""
    return head_keep.repeat_interleave(unit_width)


def per_head(dim_values: torch.Tensor, unit_width: int) -> torch.Tensor:
    """Per-context-dim values [units·w] -> [units, w]; reduce dim 1 for one value per unit (w =
    d_h also splits a GQA group's dims by query head)."""
    return dim_values.view(-1, unit_width)


def kept_features(keep: torch.Tensor, index: int, unit_width: int) -> torch.Tensor:
    """Feature indices of the units kept in sublayer ``index`` (the input dims of its W_out)."""
    kept = torch.nonzero(keep).flatten()
    return kept if Sublayer(index).is_ffn else head_dims(kept, unit_width)


def feature_gate(unit_gate: torch.Tensor, index: int, unit_width: int) -> torch.Tensor:
    """Per-unit gate of sublayer ``index`` -> the per-feature gate kprune.forward applies."""
    return unit_gate if Sublayer(index).is_ffn else head_dims_mask(unit_gate, unit_width)


def unit_gates(masks: Masks) -> dict[int, torch.Tensor]:
    """0/1 float gates per unit of every sublayer, keyed by sublayer index."""
    gates = {}
    for layer in range(masks.num_layers):
        gates[sublayer_index(layer, MHA)] = masks.head_keep[layer].float()
        gates[sublayer_index(layer, FFN)] = masks.neuron_keep[layer].float()
    return gates


def feature_gates(gates: dict[int, torch.Tensor], unit_width: int) -> dict[int, torch.Tensor]:
    """Per-unit gates of several sublayers -> their per-feature gates."""
    return {index: feature_gate(gate, index, unit_width) for index, gate in gates.items()}


def mask_gates(masks: Masks, unit_width: int) -> dict[int, torch.Tensor]:
    """Per-feature 0/1 gates that make kprune.forward compute the model masked by ``masks``."""
    return feature_gates(unit_gates(masks), unit_width)
