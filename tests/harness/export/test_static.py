"""Fixed-shape twins for CUDA graphs (the shape arithmetic folds away), the parity gate on the
runtime that is timed, and the padding the timed inputs carry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.export.device_parity import DeviceGates, needs_gate, probe_shapes
from harness.export.io_names import dummy_batch, padded_token_fraction
from harness.export.manifest import read_manifest
from harness.export.onnx import ExportedModel, export_onnx
from harness.export.parity import ExportMismatchError, ParityShape
from harness.export.static import StaticShapeGraphs, shape_ops_after_folding
from harness.runtimes.base import RuntimeSpec
from harness.runtimes.ort_runtime import ort_predictor
from harness.runtimes.torch_runtime import torch_predictor
from tests.harness.pruned_models import tiny_dense, tiny_pruned


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, ExportedModel]:
    model = tiny_pruned()
    out = tmp_path_factory.mktemp("static")
    return model, export_onnx(model, out, sample_batch_sizes=(2,), seq_lens=(8,))


@pytest.mark.slow  # exports a graph
def test_a_fixed_shape_twin_computes_the_same_without_shape_arithmetic(exported) -> None:
    import onnx

    model, dynamic = exported
    graphs = StaticShapeGraphs(dynamic)
    graph = graphs.for_shape(3, 12)
    assert graphs.for_shape(3, 12) is graph and graphs.seconds == graph.seconds > 0
    assert graph.path.name == "model_b3_s12.onnx" and graph.dtype == "float32"
    loaded = onnx.load(str(graph.path))
    dims = [[d.dim_value for d in v.type.tensor_type.shape.dim] for v in loaded.graph.input]
    assert dims == [[3, 12]] * 3 and read_manifest(graph.path)["static_shape"] == [3, 12]
    batch = dummy_batch(3, 12, vocab_size=128, pad_last_rows=1, seed=5)
    expected = torch_predictor(model)(batch)["logits"]
    np.testing.assert_allclose(ort_predictor(graph.path)(batch)["logits"], expected, atol=1e-5)
    # ORT places shape arithmetic on the CPU beside a GPU session: with fixed axes it is folded
    assert shape_ops_after_folding(dynamic.path).get("Range", 0) > 0
    assert shape_ops_after_folding(graph.path) == {}


def test_which_rows_are_gated_again_and_on_what_shapes() -> None:
    assert needs_gate(RuntimeSpec("onnxruntime", "cuda"), "onnx")
    assert needs_gate(RuntimeSpec("torch", "cuda", "float16"), "module")
    assert needs_gate(RuntimeSpec("onnxruntime"), "onnx-static")
    assert not needs_gate(RuntimeSpec("onnxruntime", dtype="float16"), "onnx")  # gated at fp16
    assert not needs_gate(RuntimeSpec("torch"), "module")  # the reference itself
    assert probe_shapes((32, 128)) == (ParityShape(32, 128, 0), ParityShape(32, 128, 1))
    assert len(probe_shapes(None)) == 8


@pytest.mark.slow  # exports a graph
def test_device_gate_checks_the_timed_graph_once(exported, monkeypatch) -> None:
    from harness.export import device_parity

    model, dynamic = exported
    graph = StaticShapeGraphs(dynamic).for_shape(2, 16)
    calls: list[str] = []
    real = device_parity.gate_runtime
    monkeypatch.setattr(
        device_parity, "gate_runtime", lambda *a: calls.append(a[1].name) or real(*a)
    )
    gates, spec = DeviceGates(), RuntimeSpec("onnxruntime", threads=1)
    assert gates.ensure(model, spec, graph, (2, 16)) < 1e-4
    gates.ensure(model, spec, graph, (2, 16))
    assert calls == ["onnxruntime-cpu-float32-default"]
    # another model's graph fails the gate, and says which outputs differ
    with pytest.raises(ExportMismatchError, match="logits"):
        gates.ensure(tiny_dense(seed=3), spec, graph, (2, 16))


@pytest.mark.slow  # converts weights
def test_torch_fp16_is_gated_against_the_fp32_model_with_fp16_tolerances() -> None:
    gates = DeviceGates()
    model = tiny_pruned()
    assert 0 < gates.ensure(model, RuntimeSpec("torch", dtype="float16"), model) < 1e-2


@pytest.mark.parametrize(
    ("batch", "seq", "rows"), [(1, 128, 1), (32, 128, 1), (4, 7, 2), (2, 8, 5)]
)
def test_padded_fraction_is_what_the_timed_batch_carries(batch, seq, rows) -> None:
    mask = dummy_batch(batch, seq, vocab_size=50, pad_last_rows=rows)["attention_mask"]
    assert padded_token_fraction(batch, seq, rows) == pytest.approx(1 - mask.mean())


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_cuda_rows_are_gated_on_cuda_within_their_dtype_tolerance(exported, dtype) -> None:
    from harness.export.fp16 import to_fp16

    model, dynamic = exported
    graph = to_fp16(dynamic, model) if dtype == "float16" else dynamic
    gates = DeviceGates()
    # float32 within 1e-4: IEEE float32 on the GPU (ORT's TF32 default would not pass)
    assert gates.ensure(model, RuntimeSpec("onnxruntime", "cuda", dtype), graph) >= 0
    static = StaticShapeGraphs(graph).for_shape(2, 16)
    spec = RuntimeSpec("onnxruntime", "cuda", dtype, "cuda_graph")
    assert gates.ensure(model, spec, static, (2, 16)) >= 0
    assert gates.ensure(model, RuntimeSpec("torch", "cuda", dtype), model) >= 0
