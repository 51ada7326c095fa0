"""Real check on the bundled SmolLM2-135M-Instruct (4-bit GGUF weights expanded to float32):
conversion, perplexity on Wikipedia windows, ORT export, prefill/decode timing on 1 CPU thread.

Slow (minutes on 2 cores; the conversion is cached in the harness cache and reused) and skipped
with the install command when the asset packages or the `decoder` extra are absent.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, LlamaForCausalLM

from harness.data.texts import read_text, tokenize_articles
from harness.export.decoder_onnx import export_decoder_onnx
from harness.measure.clock import TimingSpec
from harness.measure.decoder_timing import DecoderTimingSpec, time_decoder
from harness.measure.perplexity import PerplexitySpec, perplexity
from harness.models.gguf_convert import ConvertedModel, convert_gguf
from harness.runtimes.base import RuntimeSpec
from harness.runtimes.ort_causal_lm import OrtCausalLM
from harness.runtimes.torch_causal_lm import TorchCausalLM
from tests.harness.decoder_fixtures import skip_without_assets

pytestmark = [
    pytest.mark.slow,
    skip_without_assets("smollm2", "wikipedia_excerpt"),
    pytest.mark.skipif(
        any(importlib.util.find_spec(name) is None for name in ("gguf", "accelerate")),
        reason='GGUF loading needs the decoder extra: pip install "kprune-bench[decoder]"',
    ),
]


@pytest.fixture(scope="module")
def converted() -> ConvertedModel:
    return convert_gguf("smollm2")  # the harness cache: converted once, then reused


@pytest.fixture(scope="module")
def model(converted: ConvertedModel) -> LlamaForCausalLM:
    return LlamaForCausalLM.from_pretrained(converted.path, dtype=torch.float32).eval()


@pytest.fixture(scope="module")
def stream(converted: ConvertedModel) -> np.ndarray:
    tokenizer = AutoTokenizer.from_pretrained(converted.path)
    return tokenize_articles(tokenizer, read_text("wikipedia"))


def test_conversion_records_the_4bit_origin(converted: ConvertedModel) -> None:
    manifest = converted.manifest
    assert manifest["weights"] == "Q4_1 GGUF dequantized to float32"
    assert manifest["parameters"] == 134_515_008
    assert (converted.path / "model.safetensors").is_file()
    assert convert_gguf("smollm2").reused


def test_shape_is_smollm2_135m(model: LlamaForCausalLM) -> None:
    config = model.config
    shape = (config.num_hidden_layers, config.num_attention_heads, config.num_key_value_heads)
    assert shape == (30, 9, 3)
    assert config.intermediate_size == 1536 and config.tie_word_embeddings


def test_wikipedia_perplexity_is_near_the_published_range(
    model: LlamaForCausalLM, stream: np.ndarray
) -> None:
    result = perplexity(TorchCausalLM(model).logits, stream, PerplexitySpec(max_windows=2))
    assert result.tokens_scored == 2 * 511
    assert 15.0 < result.perplexity < 35.0  # ~23 over more text; random weights give ~49,000


def test_ort_matches_torch_and_both_time_prefill_and_decode(
    model: LlamaForCausalLM, stream: np.ndarray, tmp_path: Path
) -> None:
    torch.set_num_threads(1)
    exported = export_decoder_onnx(model, tmp_path)
    ort_lm = OrtCausalLM(
        exported.prefill_path, exported.decode_path, RuntimeSpec("onnxruntime", threads=1)
    )
    prompt = stream[None, :128]
    spec = DecoderTimingSpec(new_tokens=16, timing=TimingSpec(warmup_iters=1, min_iters=3))
    timings = [time_decoder(lm, prompt, spec) for lm in (TorchCausalLM(model), ort_lm)]
    assert timings[0].greedy_tokens == timings[1].greedy_tokens
    for timing in timings:
        assert timing.prefill_ms > 0 and timing.decode_tokens_per_s > 0
