"""Tiny seeded random Llama decoders (grouped-query attention, SwiGLU, tied embeddings) for the
decoder tests, and a skip for tests that need a bundled decoder asset. No hub, no assets."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from harness.data.assets import missing_assets

TINY_LLAMA = dict(
    vocab_size=128,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,  # grouped-query attention, as in SmolLM2 (9 query / 3 kv heads)
    intermediate_size=48,
    max_position_embeddings=256,
    tie_word_embeddings=True,
)


def tiny_llama(seed: int = 0) -> LlamaForCausalLM:
    """A seeded random tiny Llama in eval mode."""
    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(**TINY_LLAMA)).eval()


def skip_without_assets(*names: str) -> pytest.MarkDecorator:
    """Skip, saying what to install, when a bundled asset is not installed."""
    missing = missing_assets(names)
    return pytest.mark.skipif(
        bool(missing), reason=f"bundled assets {missing} not installed (kprune-bench prepare)"
    )
