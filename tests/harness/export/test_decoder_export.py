"""Decoder export: ORT prefill logits match PyTorch; greedy decoding with the exported KV-cache
graph gives PyTorch's tokens (and PyTorch's runtime gives `generate`'s)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from harness.export.decoder_onnx import ExportedDecoder, export_decoder_onnx
from harness.runtimes.base import RuntimeSpec
from harness.runtimes.causal_lm import greedy_tokens
from harness.runtimes.ort_causal_lm import OrtCausalLM
from harness.runtimes.torch_causal_lm import TorchCausalLM
from tests.harness.decoder_fixtures import tiny_llama

PROMPT = np.random.default_rng(7).integers(0, 128, size=(2, 11)).astype(np.int64)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> ExportedDecoder:
    return export_decoder_onnx(tiny_llama(), tmp_path_factory.mktemp("decoder"))


def _ort(exported: ExportedDecoder) -> OrtCausalLM:
    return OrtCausalLM(exported.prefill_path, exported.decode_path, RuntimeSpec("onnxruntime"))


def test_torch_greedy_decoding_matches_generate() -> None:
    model = tiny_llama()
    ours = greedy_tokens(TorchCausalLM(model), PROMPT, new_tokens=6)
    with torch.inference_mode():
        reference = model.generate(
            torch.from_numpy(PROMPT), max_new_tokens=7, do_sample=False, min_new_tokens=7
        )
    assert np.array_equal(ours, reference[:, PROMPT.shape[1] :].numpy())


def test_decoding_twice_from_one_start_gives_the_same_tokens() -> None:
    lm = TorchCausalLM(tiny_llama())
    start = lm.start(PROMPT)
    first = lm.decode(start, 5)
    assert np.array_equal(lm.decode(start, 5), first)
    assert start.cache.get_seq_length() == PROMPT.shape[1] + 5  # cropped back, then regrown


@pytest.mark.slow  # exports a graph
def test_ort_prefill_graph_matches_torch_logits(exported: ExportedDecoder) -> None:
    assert exported.decode_with_cache and exported.max_abs_diff < 1e-4
    model = tiny_llama()
    for batch, seq in [(1, 5), (3, 40)]:  # shapes the export never saw
        ids = np.random.default_rng(seq).integers(0, 128, size=(batch, seq)).astype(np.int64)
        expected = TorchCausalLM(model).logits(ids)
        np.testing.assert_allclose(_ort(exported).logits(ids), expected, atol=1e-4, rtol=1e-3)


@pytest.mark.slow  # exports a graph
def test_ort_greedy_decoding_with_cache_matches_torch(exported: ExportedDecoder) -> None:
    ort_lm, torch_lm = _ort(exported), TorchCausalLM(tiny_llama())
    expected = greedy_tokens(torch_lm, PROMPT, new_tokens=12)
    assert np.array_equal(greedy_tokens(ort_lm, PROMPT, new_tokens=12), expected)
    start = ort_lm.start(PROMPT)
    assert np.array_equal(ort_lm.decode(start, 12), ort_lm.decode(start, 12))


@pytest.mark.slow  # exports a graph
def test_export_files_and_record(exported: ExportedDecoder) -> None:
    assert exported.prefill_path.name == "prefill.onnx" and exported.prefill_path.is_file()
    assert exported.decode_path.name == "decode.onnx" and exported.decode_path.is_file()
    assert exported.layers == 2 and isinstance(exported.prefill_path, Path)


@pytest.mark.slow  # exports a graph
def test_gate_lists_every_graph_that_disagrees(exported: ExportedDecoder) -> None:
    from harness.export import decoder_onnx
    from harness.export.parity import ExportMismatchError

    paths = {"prefill": exported.prefill_path, "decode": exported.decode_path}
    with pytest.raises(ExportMismatchError) as caught:
        decoder_onnx._gate(tiny_llama(seed=1), paths, atol=1e-4, rtol=1e-3)  # other weights
    message = str(caught.value)
    assert "prefill:logits" in message and "decode:logits (past 0)" in message


@pytest.mark.slow  # exports a graph
def test_a_pruned_decoder_exports_with_its_own_kv_heads_per_layer(tmp_path: Path) -> None:
    """Another group kept per layer, and an attention block pruned away (no cache): the decode
    graph carries each layer's kept key/value heads, and ORT decodes PyTorch's tokens."""
    from harness.export.decoder_graphs import kv_heads_per_layer
    from kprune import Masks, remove_pruned_units
    from tests.conftest import tiny_llama as gqa_llama  # 3 layers, 2 groups, SwiGLU 128

    model = gqa_llama(3)
    groups = torch.tensor([[1, 0], [1, 1], [0, 0]], dtype=torch.bool)
    neurons = torch.rand(3, 128, generator=torch.Generator().manual_seed(2)) > 0.4
    pruned = remove_pruned_units(model, Masks(groups, neurons))
    assert kv_heads_per_layer(pruned) == (1, 2, 0)
    exported = export_decoder_onnx(pruned, tmp_path)
    ort_lm = _ort(exported)
    # the empty block caches one zero placeholder head (transformers reads lengths from caches)
    assert [ort_lm.kv_dims[f"past.{i}.key"][0] for i in range(3)] == [1, 2, 1]
    expected = greedy_tokens(TorchCausalLM(pruned), PROMPT, new_tokens=8)
    assert np.array_equal(greedy_tokens(ort_lm, PROMPT, new_tokens=8), expected)


@pytest.mark.slow  # exports a graph
def test_an_empty_first_attention_block_decodes_like_a_full_recompute(tmp_path: Path) -> None:
    """transformers reads the cached length from layer 0; with layer 0's attention pruned away
    both runtimes still decode the tokens a cache-free greedy loop gives."""
    from kprune import Masks, remove_pruned_units
    from tests.conftest import tiny_llama as gqa_llama

    groups = torch.tensor([[0, 0], [1, 0], [0, 1]], dtype=torch.bool)
    pruned = remove_pruned_units(gqa_llama(3), Masks(groups, torch.ones(3, 128, dtype=torch.bool)))
    ids = PROMPT.copy()
    for _ in range(6):  # greedy without a cache: the whole sequence every step
        with torch.inference_mode():
            logits = pruned(input_ids=torch.from_numpy(ids), use_cache=False).logits
        ids = np.concatenate([ids, logits[:, -1:].argmax(-1).numpy()], axis=1)
    expected = ids[:, PROMPT.shape[1] :]
    assert np.array_equal(greedy_tokens(TorchCausalLM(pruned), PROMPT, new_tokens=5), expected)
    ort_lm = _ort(export_decoder_onnx(pruned, tmp_path))
    assert np.array_equal(greedy_tokens(ort_lm, PROMPT, new_tokens=5), expected)
