"""GGUF -> float32 conversion: typed errors, the plain rebuild, the cache entry and its reuse."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from harness.models import gguf_convert
from harness.models.gguf_convert import (
    GgufSourceError,
    GgufUnavailableError,
    convert_gguf,
    weights_note,
)
from tests.harness.decoder_fixtures import tiny_llama


def test_missing_gguf_package_names_the_decoder_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "gguf" else real_find_spec(name)
    )
    with pytest.raises(GgufUnavailableError, match=r"kprune-bench\[decoder\]") as caught:
        convert_gguf("smollm2")
    assert "gguf" in str(caught.value)


def test_a_path_that_is_not_a_gguf_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(GgufSourceError, match="smollm2"):
        gguf_convert.gguf_path(tmp_path / "model.safetensors")


def test_weights_note_names_the_dominant_quantized_type() -> None:
    assert weights_note({"Q4_1": 210, "F32": 61, "Q8_0": 1}) == "Q4_1 GGUF dequantized to float32"
    assert weights_note({"F32": 5}) == "unquantized GGUF dequantized to float32"


def test_float32_copy_drops_the_quantization_config_and_keeps_the_logits() -> None:
    loaded = tiny_llama()
    loaded.config.quantization_config = {"quant_method": "gguf"}  # what a GGUF load carries
    copy = gguf_convert._float32_copy(loaded)
    assert not hasattr(copy.config, "quantization_config")
    assert copy.lm_head.weight.data_ptr() == copy.model.embed_tokens.weight.data_ptr()  # still tied
    gguf_convert._check_same_logits(loaded, copy, vocab=128)
    ids = torch.arange(10)[None]
    with torch.inference_mode():
        assert torch.equal(loaded(input_ids=ids).logits, copy(input_ids=ids).logits)


@pytest.fixture
def fake_gguf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A .gguf file whose conversion writes a tiny checkpoint; counts the conversions."""
    source = tmp_path / "Tiny.Q4_1.gguf"
    source.write_bytes(b"GGUF fake")
    calls: dict[str, Any] = {"n": 0, "source": source}

    def convert_into(path: Path, out: Path, manifest: dict[str, Any]) -> None:
        calls["n"] += 1
        tiny_llama().save_pretrained(out)
        (out / "manifest.json").write_text(json.dumps({**manifest, "parameters": 1}))

    monkeypatch.setattr(gguf_convert, "require_gguf_support", lambda: None)
    monkeypatch.setattr(gguf_convert, "tensor_types", lambda path: {"Q4_1": 3, "F32": 1})
    monkeypatch.setattr(gguf_convert, "_convert_into", convert_into)
    return calls


def test_conversion_is_cached_by_source_hash_and_reused(
    fake_gguf: dict[str, Any], tmp_path: Path
) -> None:
    first = convert_gguf(fake_gguf["source"], tmp_path / "cache")
    second = convert_gguf(fake_gguf["source"], tmp_path / "cache")
    assert (first.reused, second.reused, fake_gguf["n"]) == (False, True, 1)
    assert first.path == second.path and first.path.parent == tmp_path / "cache" / "models"
    assert second.manifest["weights"] == "Q4_1 GGUF dequantized to float32"
    assert len(second.manifest["source_sha256"]) == 64
    fake_gguf["source"].write_bytes(b"GGUF other weights")
    assert convert_gguf(fake_gguf["source"], tmp_path / "cache").path != first.path


def test_a_failed_conversion_leaves_no_cache_entry(
    fake_gguf: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(path: Path, out: Path, manifest: dict[str, Any]) -> None:
        (out / "partial.safetensors").write_bytes(b"")
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(gguf_convert, "_convert_into", fail)
    with pytest.raises(RuntimeError):
        convert_gguf(fake_gguf["source"], tmp_path / "cache")
    assert list((tmp_path / "cache" / "models").iterdir()) == []
