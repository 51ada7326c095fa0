"""ONNX export of a pruned MPNet: each layer's slice of the shared relative-position bias is in
the graph (a constant Gather of its kept heads), and ONNX Runtime matches PyTorch."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from harness.export.io_names import dummy_batch
from harness.export.onnx import ExportedModel, export_onnx
from harness.runtimes.ort_runtime import ort_predictor
from harness.runtimes.torch_runtime import torch_predictor
from kprune import Masks, remove_pruned_units
from tests.conftest import tiny_model

# 4 layers of 4 heads: other heads per layer, an empty attention (layer 2), a full layer (3)
HEAD_KEEP = [[1, 0, 1, 1], [0, 1, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]]
KEPT_HEADS = [[0, 2, 3], [1, 3]]  # the original indices layers 0 and 1 keep


def _pruned(kind: str) -> torch.nn.Module:
    neurons = torch.rand(4, 64, generator=torch.Generator().manual_seed(2)) > 0.4
    neurons[1] = False  # an empty FFN
    masks = Masks(torch.tensor(HEAD_KEEP, dtype=torch.bool), neurons)
    return remove_pruned_units(tiny_model(kind, layers=4), masks).eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, ExportedModel]:
    model = _pruned("mpnet")
    return model, export_onnx(model, tmp_path_factory.mktemp("mpnet"))


@pytest.mark.slow  # exports a graph
def test_pruned_mpnet_export_passes_the_parity_gate(exported) -> None:
    _, result = exported
    assert result.input_names == ("input_ids", "attention_mask")  # MPNet has no token types
    assert result.output_names == ("logits",)
    assert result.max_abs_diff < 1e-4
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["heads_per_layer"] == [3, 2, 0, 4]


@pytest.mark.slow  # exports a graph
def test_unseen_shapes_with_padding_match_torch(exported) -> None:
    model, result = exported
    for batch_size, seq_len in ((5, 23), (1, 40)):
        batch = dummy_batch(
            batch_size, seq_len, vocab_size=128, input_names=result.input_names, pad_last_rows=1
        )
        expected = torch_predictor(model)(batch)["logits"]
        np.testing.assert_allclose(ort_predictor(result.path)(batch)["logits"], expected, atol=1e-5)


@pytest.mark.slow  # exports a graph
def test_graph_takes_each_layers_bias_slice(exported) -> None:
    """The graph gathers the kept heads of layers 0 and 1 from the shared bias (head axis 1)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(exported[1].path)).graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    gathered = [
        constants[node.input[1]].tolist()
        for node in graph.node
        if node.op_type == "Gather"
        and any(a.name == "axis" and a.i == 1 for a in node.attribute)
        and node.input[1] in constants
    ]
    assert sorted(g for g in gathered if g in KEPT_HEADS) == sorted(KEPT_HEADS)


@pytest.mark.slow  # exports a graph
def test_pruned_mpnet_qa_export_matches_torch(tmp_path) -> None:
    model = _pruned("mpnet-qa")
    result = export_onnx(model, tmp_path, sample_batch_sizes=(2,), seq_lens=(8, 13))
    assert result.output_names == ("start_logits", "end_logits")
    assert result.max_abs_diff < 1e-4
