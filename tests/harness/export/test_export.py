"""ONNX export of pruned encoders: parity with PyTorch, dynamic axes, manifest, bad exports."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import BertForSequenceClassification, RobertaConfig

from harness.export.fp16 import to_fp16
from harness.export.io_names import dummy_batch, model_input_names
from harness.export.onnx import ExportedModel, ExportMismatchError, export_onnx
from harness.export.parity import Mismatch, ParityShape, check_parity, parity_shapes
from harness.runtimes.ort_runtime import ort_predictor
from harness.runtimes.torch_runtime import torch_predictor
from tests.harness.pruned_models import HEADS_KEPT, NEURONS_KEPT, tiny_dense, tiny_pruned


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, ExportedModel]:
    model = tiny_pruned()
    return model, export_onnx(model, tmp_path_factory.mktemp("onnx"))


@pytest.mark.slow  # exports a graph
def test_pruned_export_matches_torch_with_empty_sublayers(exported) -> None:
    model, result = exported
    assert result.path.exists() and result.dtype == "float32" and result.opset == 17
    assert result.input_names == ("input_ids", "attention_mask", "token_type_ids")
    assert result.output_names == ("logits",)
    assert result.max_abs_diff < 1e-4


@pytest.mark.slow  # exports a graph
def test_dynamic_axes_serve_unseen_shapes_with_padding(exported) -> None:
    model, result = exported
    batch = dummy_batch(5, 23, vocab_size=128, pad_last_rows=3, seed=9)
    expected = torch_predictor(model)(batch)["logits"]
    np.testing.assert_allclose(ort_predictor(result.path)(batch)["logits"], expected, atol=1e-5)


@pytest.mark.slow  # exports a graph
def test_manifest_lists_per_layer_structure(exported) -> None:
    _, result = exported
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["heads_per_layer"] == HEADS_KEPT
    assert manifest["neurons_per_layer"] == NEURONS_KEPT == [24, 64, 0]
    assert [layer["attention_empty"] for layer in manifest["layers"]] == [False, True, False]
    assert [layer["ffn_empty"] for layer in manifest["layers"]] == [False, False, True]
    assert manifest["layers"][0]["head_size"] == 8 and manifest["dtype"] == "float32"
    assert manifest["onnx_file"] == result.path.name


@pytest.mark.slow  # exports a graph
def test_qa_export_has_start_and_end_logits(tmp_path) -> None:
    model = tiny_pruned("qa")
    result = export_onnx(model, tmp_path, sample_batch_sizes=(2,), seq_lens=(8,))
    assert result.output_names == ("start_logits", "end_logits")
    batch = dummy_batch(3, 13, vocab_size=128, pad_last_rows=1)
    got = ort_predictor(result.path)(batch)
    assert got["start_logits"].shape == (3, 13)


@pytest.mark.slow  # exports a graph
def test_fp16_variant_passes_its_gate(tmp_path) -> None:
    model = tiny_pruned()
    fp32 = export_onnx(model, tmp_path, sample_batch_sizes=(2,), seq_lens=(8,))
    result = to_fp16(fp32, model)
    assert fp32.dtype == "float32" and result.max_abs_diff <= 1e-2
    assert result.dtype == "float16" and result.path.name == "model_fp16.onnx"
    assert (tmp_path / "model.onnx").exists() and (tmp_path / "model.manifest.json").exists()
    assert json.loads(result.manifest_path.read_text())["dtype"] == "float16"


@pytest.mark.slow  # exports a graph
def test_export_leaves_the_model_unchanged(tmp_path) -> None:
    model = tiny_dense().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    export_onnx(model, tmp_path, sample_batch_sizes=(1,), seq_lens=(8,))
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


class _ShapeBranchBert(BertForSequenceClassification):
    """A model whose Python branch on the sequence length the tracer bakes in (a real bug)."""

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **kwargs):
        out = super().forward(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        if input_ids.shape[1] > 12:
            out["logits"] = out["logits"] * 2.0 + 1.0
        return out


@pytest.mark.slow  # exports a graph
def test_export_with_a_baked_branch_fails_the_gate(tmp_path) -> None:
    torch.manual_seed(0)
    model = _ShapeBranchBert(tiny_dense().config).eval()
    with pytest.raises(ExportMismatchError) as info:
        export_onnx(model, tmp_path, sample_batch_sizes=(1, 2), seq_lens=(8, 16))
    # traced at seq 16: every seq-8 probe (2 batch sizes x unpadded/padded) mismatches
    assert len(info.value.mismatches) == 4
    assert all(m.shape.seq_len == 8 and m.output == "logits" for m in info.value.mismatches)
    assert "max |diff|" in str(info.value) and "model.onnx" in str(info.value)
    assert not (tmp_path / "model.manifest.json").exists()


def test_roberta_has_no_token_type_input() -> None:
    assert model_input_names(RobertaConfig(type_vocab_size=1)) == ("input_ids", "attention_mask")


def test_check_parity_collects_every_mismatch(tmp_path) -> None:
    def reference(batch):
        n = batch["input_ids"].shape[0]
        return {"a": np.zeros((n, 2), np.float32), "b": np.zeros((n, 3), np.float32)}

    def candidate(batch):
        out = reference(batch)
        out["a"] = out["a"] + 0.5
        if batch["input_ids"].shape[0] == 2:
            out["b"] = np.zeros((2, 4), np.float32)
        return out

    shapes = parity_shapes((1, 2), (4,))
    with pytest.raises(ExportMismatchError) as info:
        check_parity(
            reference,
            candidate,
            path=tmp_path / "x.onnx",
            shapes=shapes,
            input_names=("input_ids",),
            vocab_size=10,
            atol=1e-4,
            rtol=0.0,
        )
    misses: tuple[Mismatch, ...] = info.value.mismatches
    assert len(misses) == 4 + 2  # "a" on all four probes, "b" (wrong shape) on the two batch-2
    assert {m.output for m in misses} == {"a", "b"}
    assert ParityShape(2, 4, 1) in {m.shape for m in misses if m.output == "b"}
    assert misses[0].max_abs_diff == pytest.approx(0.5)
