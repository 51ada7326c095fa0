"""Keep-masks over heads and FFN neurons: bool tensors, True = kept, in the original model's unit
indices. A value type only: it never decides what to keep and never touches a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from kprune.errors import KpruneError


@dataclass(frozen=True)
class Masks:
    """head_keep: [layers, heads] bool; neuron_keep: [layers, neurons] bool (True = kept)."""

    head_keep: torch.Tensor
    neuron_keep: torch.Tensor

    def __post_init__(self) -> None:
        for name in ("head_keep", "neuron_keep"):
            value = getattr(self, name)
            if not isinstance(value, torch.Tensor) or value.dtype != torch.bool or value.dim() != 2:
                raise KpruneError(f"Masks.{name} must be a 2-D bool tensor, got {value!r}")
        if self.head_keep.shape[0] != self.neuron_keep.shape[0]:
            raise KpruneError(
                f"Masks cover {self.head_keep.shape[0]} layers of heads but "
                f"{self.neuron_keep.shape[0]} layers of neurons"
            )

    @property
    def num_layers(self) -> int:
        return int(self.head_keep.shape[0])

    def heads_per_layer(self) -> list[int]:
        return [int(n) for n in self.head_keep.sum(dim=1)]

    def neurons_per_layer(self) -> list[int]:
        return [int(n) for n in self.neuron_keep.sum(dim=1)]
