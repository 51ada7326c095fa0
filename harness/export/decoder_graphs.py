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


def kv_shape(config: Any, batch: int, past: int) -> tuple[int, int, int, int]:
    """`[batch, kv_heads, past, head_dim]` of one cached key or value tensor."""
    heads = int(config.num_attention_heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    return batch, kv_heads, past, head_dim


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
        for layer in out.past_key_values.layers:
            present += [layer.keys, layer.values]
        return (out.logits, *present)
