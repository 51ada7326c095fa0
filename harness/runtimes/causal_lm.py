"""What a causal-LM runtime offers the harness: logits without a cache (prefill, perplexity),
a prompt turned into a KV cache, and greedy decoding from that cache.

Imports neither torch nor onnxruntime; the runtimes live in `torch_causal_lm` / `ort_causal_lm`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class DecodeStart:
    """A prompt after prefill: its KV cache (runtime-specific), its length, and the greedy token
    its last position predicts, `[batch, 1]` int64. `decode` never changes what it holds, so
    one start serves every timed decode call."""

    cache: Any
    prompt_tokens: int
    first_token: np.ndarray


class CausalLM(Protocol):
    """A causal LM on one runtime and device; all arrays are host numpy."""

    @property
    def name(self) -> str: ...

    def logits(self, token_ids: np.ndarray) -> np.ndarray:
        """`[batch, seq]` int64 -> `[batch, seq, vocab]` float32, no KV cache."""
        ...

    def start(self, prompt_ids: np.ndarray) -> DecodeStart:
        """Run the prompt `[batch, seq]` once, keeping its KV cache."""
        ...

    def decode(self, start: DecodeStart, new_tokens: int) -> np.ndarray:
        """`new_tokens` greedy single-token steps with the KV cache: tokens `[batch, new_tokens]`
        (the step fed `start.first_token` produces the first of them)."""
        ...

    def sync(self) -> None:
        """Block until queued device work is done (the timing definition's sync)."""
        ...


def greedy_tokens(lm: CausalLM, prompt_ids: np.ndarray, new_tokens: int) -> np.ndarray:
    """The prompt's greedy continuation, `[batch, 1 + new_tokens]`: the prefill's token first."""
    start = lm.start(prompt_ids)
    return np.concatenate([start.first_token, lm.decode(start, new_tokens)], axis=1)
