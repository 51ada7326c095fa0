"""Runtimes: spec validation, registry, torch/ORT agreement on pruned models, fallback errors."""

from __future__ import annotations

from typing import get_args

import numpy as np
import pytest
import torch

from harness.export.io_names import dummy_batch
from harness.export.onnx import ExportedModel, export_onnx
from harness.runtimes import ort_runtime
from harness.runtimes.base import (
    BACKENDS,
    ArtifactKind,
    CudaUnavailableError,
    ProviderUnavailableError,
    RuntimeName,
    RuntimeSpec,
    RuntimeUnavailableError,
    load_runtime,
)
from tests.harness.pruned_models import tiny_pruned

NO_CUDA = not torch.cuda.is_available()


@pytest.fixture(scope="module")
def pruned(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, ExportedModel]:
    model = tiny_pruned()
    out = tmp_path_factory.mktemp("runtimes")
    return model, export_onnx(model, out, sample_batch_sizes=(2,), seq_lens=(8,))


@pytest.fixture
def restore_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_spec_defaults_per_backend_and_device() -> None:
    assert RuntimeSpec("torch").variant == "eager"
    assert RuntimeSpec("onnxruntime").variant == "default"
    assert RuntimeSpec("onnxruntime", device="cuda").variant == "iobinding"
    assert (
        RuntimeSpec("onnxruntime", "cuda", "float16").name == "onnxruntime-cuda-float16-iobinding"
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(backend="tensorrt"),
        dict(backend="torch", device="tpu"),
        dict(backend="torch", dtype="bfloat16"),
        dict(backend="torch", variant="iobinding"),
        dict(backend="torch", variant="cuda_graph"),  # CUDA graphs need CUDA
        dict(backend="onnxruntime", variant="cuda_graph"),
        dict(backend="torch", threads=0),
    ],
)
def test_spec_rejects_bad_combinations(kwargs) -> None:
    with pytest.raises(ValueError):
        RuntimeSpec(**kwargs)


def test_registry_covers_every_runtime_name_and_its_loaders_resolve() -> None:
    import importlib

    assert set(BACKENDS) == set(get_args(RuntimeName))
    for backend in BACKENDS.values():
        for target in filter(None, (backend.loader, backend.child_artifact_loader)):
            module, _, function = target.partition(":")
            assert callable(getattr(importlib.import_module(module), function)), target
        for variant in backend.variants:
            assert backend.artifact_of(variant) in get_args(ArtifactKind)


@pytest.mark.slow  # exports a graph
@pytest.mark.parametrize("variant", ["default", "iobinding"])
def test_ort_and_torch_agree_on_pruned_model(pruned, variant, restore_torch_threads) -> None:
    model, exported = pruned
    batch = dummy_batch(3, 10, vocab_size=128, pad_last_rows=2, seed=4)
    torch_rt = load_runtime(RuntimeSpec("torch", threads=1), model)
    ort_rt = load_runtime(RuntimeSpec("onnxruntime", variant=variant, threads=1), exported)
    expected = torch_rt.run(batch)["logits"]
    np.testing.assert_allclose(ort_rt.run(batch)["logits"], expected, atol=1e-5)
    assert torch_rt.threads == 1 and ort_rt.threads == 1
    assert ort_rt.name == f"onnxruntime-cpu-float32-{variant}"
    call = ort_rt.bind(batch)
    call()
    ort_rt.sync()
    assert ort_rt.run(batch)["logits"].shape == (3, 3)


@pytest.mark.slow
def test_iobinding_bound_call_keeps_its_own_buffers(pruned) -> None:
    runtime = load_runtime(RuntimeSpec("onnxruntime", variant="iobinding"), pruned[1])
    call = runtime.bind(dummy_batch(2, 8, vocab_size=128))
    assert runtime.run(dummy_batch(5, 12, vocab_size=128))["logits"].shape == (5, 3)
    (logits,) = call()
    runtime.sync()
    assert logits.numpy().shape == (2, 3)  # the timed call still runs the shape it was bound to


@pytest.mark.slow
def test_torch_bound_call_returns_usable_output(pruned) -> None:
    model, _ = pruned
    runtime = load_runtime(RuntimeSpec("torch"), model)
    batch = dummy_batch(2, 8, vocab_size=128)
    out = runtime.bind(batch)()
    runtime.sync()
    np.testing.assert_allclose(out["logits"].numpy(), runtime.run(batch)["logits"], atol=1e-6)


def test_torch_runtime_never_converts_the_callers_model() -> None:
    model = tiny_pruned()
    runtime = load_runtime(RuntimeSpec("torch", dtype="float16"), model)
    assert next(model.parameters()).dtype == torch.float32
    assert next(runtime.model.parameters()).dtype == torch.float16


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")
def test_torch_cuda_request_without_cuda_is_an_error() -> None:
    with pytest.raises(CudaUnavailableError, match="no CUDA device"):
        load_runtime(RuntimeSpec("torch", device="cuda"), tiny_pruned())


@pytest.mark.slow
@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")
def test_ort_cuda_request_on_a_cpu_machine_is_an_error(pruned) -> None:
    # onnxruntime-gpu lists CUDAExecutionProvider but falls back to CPU when CUDA cannot load.
    with pytest.raises(RuntimeUnavailableError, match="CUDAExecutionProvider"):
        load_runtime(RuntimeSpec("onnxruntime", device="cuda"), pruned[1])


class _FallbackSession:
    def __init__(self, *args, **kwargs) -> None:
        self.kwargs = kwargs

    def get_providers(self) -> list[str]:
        return ["CPUExecutionProvider"]


def test_provider_fallback_is_detected(monkeypatch, tmp_path) -> None:
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "InferenceSession", _FallbackSession)
    monkeypatch.setattr(
        onnxruntime,
        "get_available_providers",
        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"],
    )
    with pytest.raises(ProviderUnavailableError, match="fell back"):
        ort_runtime.create_session(tmp_path / "m.onnx", RuntimeSpec("onnxruntime", device="cuda"))


def test_missing_cuda_provider_is_cuda_unavailable(monkeypatch, tmp_path) -> None:
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(CudaUnavailableError, match="onnxruntime-gpu"):
        ort_runtime.create_session(tmp_path / "m.onnx", RuntimeSpec("onnxruntime", device="cuda"))


@pytest.mark.slow
def test_ort_refuses_a_graph_of_another_dtype(pruned) -> None:
    with pytest.raises(ValueError, match="float32 graph"):
        load_runtime(RuntimeSpec("onnxruntime", dtype="float16"), pruned[1])


@pytest.mark.slow
def test_ort_predictor_drops_unused_inputs_and_names_missing_ones(pruned) -> None:
    predict = ort_runtime.ort_predictor(pruned[1].path)
    batch = dummy_batch(1, 6, vocab_size=128)
    assert predict(batch)["logits"].shape == (1, 3)
    with pytest.raises(ValueError, match="token_type_ids"):
        predict({k: v for k, v in batch.items() if k != "token_type_ids"})


# --- CUDA (run on the lent GPU machine: pytest -m gpu) ---------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("variant", ["eager", "cuda_graph"])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_torch_cuda_variants_match_cpu(pruned, variant, dtype) -> None:
    model, _ = pruned
    batch = dummy_batch(2, 16, vocab_size=128, pad_last_rows=1)
    expected = load_runtime(RuntimeSpec("torch"), model).run(batch)["logits"]
    runtime = load_runtime(RuntimeSpec("torch", "cuda", dtype, variant), model)
    call = runtime.bind(batch)
    out = call()
    runtime.sync()
    got = out["logits"].float().cpu().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-2 if dtype == "float16" else 1e-4)


@pytest.mark.gpu
@pytest.mark.parametrize("variant", ["iobinding", "cuda_graph"])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_ort_cuda_variants_match_torch(pruned, variant, dtype) -> None:
    from harness.export.fp16 import to_fp16
    from harness.export.static import static_shape_graph

    model, exported = pruned
    batch = dummy_batch(2, 16, vocab_size=128, pad_last_rows=1)
    expected = load_runtime(RuntimeSpec("torch"), model).run(batch)["logits"]
    graph = to_fp16(exported, model) if dtype == "float16" else exported
    if variant == "cuda_graph":  # a CUDA graph runs a graph with every axis fixed
        graph = static_shape_graph(graph, 2, 16)
    runtime = load_runtime(RuntimeSpec("onnxruntime", "cuda", dtype, variant), graph)
    assert runtime.session.get_providers()[0] == "CUDAExecutionProvider"
    options = runtime.session.get_provider_options()["CUDAExecutionProvider"]
    assert options["use_tf32"] == "0"
    for _ in range(3):  # ORT captures its CUDA graph after warm-up runs; replays must match
        got = runtime.run(batch)["logits"]
        np.testing.assert_allclose(got, expected, atol=1e-2 if dtype == "float16" else 1e-4)
