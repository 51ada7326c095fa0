"""Per-layer structure of a (possibly pruned) encoder: what the manifest and save format record.
Read-only: it never changes the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from kprune.arch import EncoderAccess


@dataclass(frozen=True)
class EncoderShape:
    """heads_per_layer (query heads) / neurons_per_layer are the current (kept) counts; 0 = empty
    sublayer. heads_per_unit: query heads per attention unit, 1 for multi-head attention, the
    query heads per key/value group under GQA (a layer keeps heads / heads_per_unit k/v heads)."""

    model_class: str
    model_type: str
    num_layers: int
    hidden_size: int
    head_size: int
    heads_per_layer: tuple[int, ...]
    neurons_per_layer: tuple[int, ...]
    heads_per_unit: int = 1

    @property
    def units_per_layer(self) -> tuple[int, ...]:
        """Attention units (heads, or GQA key/value groups) per layer: the keep-masks' columns."""
        return tuple(h // self.heads_per_unit for h in self.heads_per_layer)

    def to_dict(self) -> dict[str, object]:
        return {
            "model_class": self.model_class,
            "model_type": self.model_type,
            "num_layers": self.num_layers,
            "hidden_size": self.hidden_size,
            "head_size": self.head_size,
            "heads_per_layer": list(self.heads_per_layer),
            "neurons_per_layer": list(self.neurons_per_layer),
            "heads_per_unit": self.heads_per_unit,
            "empty_attention_layers": [i for i, h in enumerate(self.heads_per_layer) if h == 0],
            "empty_ffn_layers": [i for i, n in enumerate(self.neurons_per_layer) if n == 0],
        }


def encoder_shape(model: nn.Module) -> EncoderShape:
    """Read the structure; raises UnsupportedModelError for an architecture kprune cannot prune."""
    access = EncoderAccess(model)
    layers = range(len(access.layers))
    return EncoderShape(
        model_class=type(model).__name__,
        model_type=str(access.config.model_type),
        num_layers=len(access.layers),
        hidden_size=access.hidden_size,
        head_size=access.head_size,
        heads_per_layer=tuple(access.num_heads(i) for i in layers),
        neurons_per_layer=tuple(access.num_neurons(i) for i in layers),
        heads_per_unit=access.heads_per_unit,
    )
