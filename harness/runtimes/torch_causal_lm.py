"""PyTorch causal-LM runtime (eager, inference mode) with the transformers KV cache.

Decoding restores the cache to the prompt before each call (`DynamicCache.crop`, a slice), so
a `DecodeStart` can be decoded from again and again. Never moves or mutates the caller's model
beyond putting it in eval mode.

A layer whose attention pruning removed never writes its cache, but transformers reads the
sequence length (positions, mask sizes) from layer 0's cache: so each such layer caches a zero
placeholder head as long as the tokens run so far (`decoder_graphs.PLACEHOLDER_HEADS`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.export.decoder_graphs import PLACEHOLDER_HEADS, head_dim, kv_heads_per_layer
from harness.runtimes.causal_lm import DecodeStart

log = logging.getLogger(__name__)


def _greedy(logits: torch.Tensor) -> torch.Tensor:
    return logits[:, -1:].argmax(dim=-1)  # [batch, 1]


class TorchCausalLM:
    """`harness.runtimes.causal_lm.CausalLM` over a Hugging Face causal LM module."""

    def __init__(self, model: nn.Module) -> None:
        self.model: Any = model.eval()
        self.device = next(model.parameters()).device
        self.empty_layers = [i for i, h in enumerate(kv_heads_per_layer(model)) if h == 0]
        self.head_dim = head_dim(model.config)

    def _grow_empty(self, cache: Any, batch: int, tokens: int) -> None:
        """Placeholder cache entries for the `tokens` just run, in layers without attention."""
        for layer in self.empty_layers:
            shape = (batch, PLACEHOLDER_HEADS, tokens, self.head_dim)
            zeros = torch.zeros(shape, device=self.device)
            cache.update(zeros, zeros, layer)

    @property
    def name(self) -> str:
        return f"torch-{self.device.type}-float32-eager"

    def _ids(self, token_ids: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(token_ids, dtype=np.int64)).to(self.device)

    def logits(self, token_ids: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = self.model(input_ids=self._ids(token_ids), use_cache=False)
            return np.asarray(out.logits.float().cpu().numpy())

    def start(self, prompt_ids: np.ndarray) -> DecodeStart:
        with torch.inference_mode():
            out = self.model(input_ids=self._ids(prompt_ids), use_cache=True)
            self._grow_empty(out.past_key_values, *prompt_ids.shape)
            first = _greedy(out.logits)
        return DecodeStart(out.past_key_values, int(prompt_ids.shape[1]), first.cpu().numpy())

    def decode(self, start: DecodeStart, new_tokens: int) -> np.ndarray:
        cache = start.cache
        extra = cache.get_seq_length() - start.prompt_tokens
        if extra:
            cache.crop(-extra)  # drop what the previous call appended; the prompt part is shared
        token = self._ids(start.first_token)
        produced = []
        with torch.inference_mode():
            for _ in range(new_tokens):
                out = self.model(input_ids=token, past_key_values=cache, use_cache=True)
                self._grow_empty(cache, token.shape[0], 1)
                token = _greedy(out.logits)
                produced.append(token)
        return np.asarray(torch.cat(produced, dim=1).cpu().numpy())

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
