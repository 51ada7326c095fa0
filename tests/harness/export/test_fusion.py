"""ORT fusion of pruned graphs: per-layer head detection, counts, parity, typed refusal."""

from __future__ import annotations

import json

import pytest
import torch

import harness.export.fusion as fusion
from harness.export.fusion import FusionNotApplicableError, fuse_onnx
from harness.export.onnx import ExportedModel, export_onnx
from tests.harness.pruned_models import tiny_pruned


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, ExportedModel]:
    model = tiny_pruned()
    out = tmp_path_factory.mktemp("fusion")
    return model, export_onnx(model, out, sample_batch_sizes=(2,), seq_lens=(8,))


@pytest.mark.slow  # exports and optimizes a graph
def test_fusion_counts_operators_and_keeps_numbers(exported) -> None:
    model, base = exported
    fused = fuse_onnx(base, reference_model=model, sample_batch_sizes=(1, 3), seq_lens=(8, 11))
    assert fused.path.name == "model_fused.onnx" and fused.path.exists()
    assert fused.fused_ops and fused.fused_ops.get("SkipLayerNormalization", 0) > 0
    # one fused attention per layer that kept heads (layer 1 kept none): per-layer detection
    attention = sum(fused.fused_ops.get(op, 0) for op in fusion.ATTENTION_OPS)
    assert attention == 2
    assert fused.max_abs_diff < 1e-4
    manifest = json.loads(fused.manifest_path.read_text())
    assert manifest["fused_ops"] == dict(fused.fused_ops)
    assert manifest["heads_per_layer"] == [2, 0, 4] and manifest["fused_from"] == "model.onnx"


@pytest.mark.slow
def test_fusion_never_passes_a_global_head_count(exported, monkeypatch) -> None:
    from onnxruntime.transformers import optimizer

    seen: dict[str, object] = {}
    real = optimizer.optimize_model

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(optimizer, "optimize_model", spy)
    fuse_onnx(exported[1], sample_batch_sizes=(2,), seq_lens=(8,))
    assert seen["num_heads"] == 0 and seen["hidden_size"] == 0 and seen["model_type"] == "bert"


@pytest.mark.slow
def test_nothing_fused_is_an_error_not_a_silent_unfused_graph(exported, monkeypatch) -> None:
    monkeypatch.setattr(fusion, "_optimize", lambda *a, **k: (None, {"LayerNormalization": 7}))
    exported[1].path.with_name("model_fused.onnx").unlink(missing_ok=True)
    with pytest.raises(FusionNotApplicableError, match="fused nothing"):
        fuse_onnx(exported[1])
    assert not exported[1].path.with_name("model_fused.onnx").exists()


@pytest.mark.slow
def test_missing_required_fusion_is_an_error(exported, monkeypatch) -> None:
    monkeypatch.setattr(fusion, "_optimize", lambda *a, **k: (None, {"SkipLayerNormalization": 6}))
    with pytest.raises(FusionNotApplicableError, match=r"required \['Attention'\]"):
        fuse_onnx(exported[1], require_ops=("Attention",))


@pytest.mark.slow
def test_fp16_graph_is_refused_as_input(exported) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="float32"):
        fuse_onnx(replace(exported[1], dtype="float16"))


@pytest.mark.slow
def test_fused_attention_is_exact_for_left_padding_and_holes(exported) -> None:
    # ORT's default mask index assumes right padding; the raw 2-D mask must hold for any layout
    import numpy as np

    from harness.runtimes.ort_runtime import ort_predictor
    from harness.runtimes.torch_runtime import torch_predictor

    model, base = exported
    fused = fuse_onnx(base, reference_model=model, require_attention=True)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 128, size=(3, 12), dtype=np.int64)
    mask = np.ones((3, 12), dtype=np.int64)
    mask[0, :5] = 0  # left padding
    mask[1, 3:7] = 0  # a hole
    batch = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    expected = torch_predictor(model)(batch)["logits"]
    np.testing.assert_allclose(ort_predictor(fused.path)(batch)["logits"], expected, atol=1e-5)
