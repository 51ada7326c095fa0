"""The two traceable views of a causal LM that are exported to ONNX, and their I/O names.

- prefill: `input_ids [batch, sequence]` -> `logits [batch, sequence, vocab]`, no KV cache.
- decode: `input_ids [batch, sequence]`, `position_ids [batch, sequence]` and per layer
  `past.<i>.key/value [batch, kv_heads, past_sequence, head_dim]` -> logits and
  `present.<i>.key/value` (past + the new positions). With past_sequence 0 it is a prefill that
  builds the cache; with sequence 1 it is one decoding step.
Neither view pads: every row has the same length, so no attention mask is needed.
Never exports or runs anything itself.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

PREFILL_INPUTS = ("input_ids",)
DECODE_INPUTS = ("input_ids", "position_ids")
LOGITS = "logits"


def past_names(layers: int) -> tuple[str, ...]:
    return tuple(f"past.{i}.{part}" for i in range(layers) for part in ("key", "value"))


def present_names(layers: int) -> tuple[str, ...]:
    return tuple(f"present.{i}.{part}" for i in range(layers) for part in ("key", "value"))


def head_dim(config: Any) -> int:
    heads = int(config.num_attention_heads)
    return int(getattr(config, "head_dim", None) or config.hidden_size // heads)


def kv_heads_per_layer(model: nn.Module) -> tuple[int, ...]:
    """Key/value heads each layer caches: the config's count, or what pruning kept (read from
    the layer's k_proj; 0 for an attention block pruned away, which caches nothing)."""
    config: Any = model.config
    dim = head_dim(config)
    layers: Any = model.model.layers  # type: ignore[union-attr]
    return tuple(
        int(layer.self_attn.k_proj.out_features) // dim if hasattr(layer.self_attn, "k_proj") else 0
        for layer in layers
    )


PLACEHOLDER_HEADS = 1
"""Heads cached by a layer whose attention was pruned away: zeros nobody reads. transformers
takes the sequence length from a layer's cache only when it holds elements (from layer 0 for
positions and mask sizes), so an empty layer caches one zero head as long as the sequence."""


def cached_heads(model: nn.Module) -> tuple[int, ...]:
    """Heads each layer's cache holds: its kept key/value heads, or PLACEHOLDER_HEADS."""
    return tuple(h or PLACEHOLDER_HEADS for h in kv_heads_per_layer(model))


def kv_shape(model: nn.Module, layer: int, batch: int, past: int) -> tuple[int, int, int, int]:
    """`[batch, heads, past, head_dim]` of one cached key or value tensor of `layer`."""
    config: Any = model.config
    return batch, cached_heads(model)[layer], past, head_dim(config)


class PrefillGraph(nn.Module):
    """Token ids in, logits for every position out (use_cache=False)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        # Without a mask and a cache, transformers looks for packed sequences with aten::diff,
        # which the exporter cannot translate; an all-ones mask (no padding) skips that check.
        mask = torch.ones_like(input_ids)
        out = self.model(input_ids=input_ids, attention_mask=mask, use_cache=False)
        logits: torch.Tensor = out.logits
        return logits


class DecodeGraph(nn.Module):
    """New token ids, their positions and the flat past keys/values in; logits and the flat
    present keys/values out. The cache object lives only inside the traced call."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        config: Any = model.config
        self.layers = int(config.num_hidden_layers)
        self.kv_heads = kv_heads_per_layer(model)

    def forward(
        self, input_ids: torch.Tensor, position_ids: torch.Tensor, *past: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)  # type: ignore[arg-type]
        for layer in range(self.layers):
            cache.update(past[2 * layer], past[2 * layer + 1], layer)
        out = self.model(
            input_ids=input_ids, position_ids=position_ids, past_key_values=cache, use_cache=True
        )
        present: list[torch.Tensor] = []
        for heads, layer in zip(self.kv_heads, out.past_key_values.layers, strict=True):
            keys, values = layer.keys, layer.values
            if heads == 0:  # a pruned-away attention block never updates its cache: grow its
                # placeholder, so every layer's past has the sequence length the model reads
                grown = torch.zeros_like(input_ids, dtype=keys.dtype)[:, None, :, None]
                grown = grown.expand(-1, PLACEHOLDER_HEADS, -1, keys.shape[3])
                keys, values = torch.cat([keys, grown], 2), torch.cat([values, grown], 2)
            present += [keys, values]
        return (out.logits, *present)
