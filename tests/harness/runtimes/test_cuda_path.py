"""The CUDA path, checked without a GPU where it can be: provider options (no TF32) applied and
verified, CUDA libraries loaded before a CUDA session (in a timing child too), node placement read
from ORT's profiler, torch float32 refused under TF32, and which runtime scores a row."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.runtimes import ort_session
from harness.runtimes.base import RuntimeSpec, load_runtime, scoring_spec
from harness.runtimes.placement import (
    PlacementError,
    profile_placement,
    read_profile,
    require_one_device,
    static_feed,
)
from harness.runtimes.torch_runtime import Tf32EnabledError, check_float32_matmul

CUDA = "CUDAExecutionProvider"


@pytest.mark.parametrize(
    ("dtype", "variant", "graph"),
    [("float32", "iobinding", "0"), ("float16", "iobinding", "0"), ("float32", "cuda_graph", "1")],
)
def test_every_cuda_session_is_ieee_float32(dtype, variant, graph) -> None:
    options = ort_session.provider_options(RuntimeSpec("onnxruntime", "cuda", dtype, variant))
    assert options == {"device_id": "0", "enable_cuda_graph": graph, "use_tf32": "0"}
    assert ort_session.provider_options(RuntimeSpec("onnxruntime")) == {}


class _CudaSession:
    """Stands for an InferenceSession on a working CUDA provider; `applies` says whether it
    reports the requested options back (an ORT that ignores one does not)."""

    applies = True
    created: list[tuple[str, dict[str, str]]] = []

    def __init__(self, path, sess_options=None, providers=()) -> None:
        (self.provider, self.options), *_ = providers
        _CudaSession.created.append((self.provider, dict(self.options)))

    def get_providers(self) -> list[str]:
        return [self.provider, "CPUExecutionProvider"]

    def get_provider_options(self) -> dict[str, dict[str, str]]:
        applied = dict(self.options) if self.applies else {**self.options, "use_tf32": "1"}
        return {self.provider: applied}


@pytest.fixture
def fake_cuda_ort(monkeypatch):
    import onnxruntime

    order: list[str] = []
    available = [CUDA, "CPUExecutionProvider"]
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: available)
    monkeypatch.setattr(onnxruntime, "InferenceSession", _CudaSession)
    monkeypatch.setattr(ort_session, "load_cuda_libraries", lambda: order.append("libraries"))
    _CudaSession.created, _CudaSession.applies = [], True
    return order


def test_cuda_session_gets_and_keeps_the_row_options(fake_cuda_ort, tmp_path) -> None:
    spec = RuntimeSpec("onnxruntime", "cuda", "float32", "iobinding")
    session = ort_session.create_session(tmp_path / "m.onnx", spec)
    assert fake_cuda_ort == ["libraries"]  # loaded before the session was created
    assert _CudaSession.created == [(CUDA, ort_session.provider_options(spec))]
    assert session.get_provider_options()[CUDA]["use_tf32"] == "0"


def test_an_option_ort_did_not_apply_is_an_error(fake_cuda_ort, tmp_path) -> None:
    _CudaSession.applies = False
    spec = RuntimeSpec("onnxruntime", "cuda", "float32", "iobinding")
    with pytest.raises(ort_session.ProviderOptionsError, match="use_tf32"):
        ort_session.create_session(tmp_path / "m.onnx", spec)


@pytest.mark.slow  # starts a Python process
def test_a_process_loads_cuda_libraries_through_torch_as_the_sweep_does() -> None:
    code = (
        "import sys; from harness.runtimes import ort_session;"
        "assert 'torch' not in sys.modules; ort_session.load_cuda_libraries();"
        "sys.exit(0 if 'torch' in sys.modules else 1)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def _kernel(name: str, op: str, provider: str) -> dict:
    args = {"op_name": op, "provider": provider}
    return {"cat": "Node", "name": f"{name}_kernel_time", "args": args}


def test_placement_names_cpu_nodes_and_host_copies() -> None:
    events = [
        {"cat": "Session", "name": "model_run", "args": {}},
        _kernel("attn/MatMul", "MatMul", CUDA),
        {"cat": "Node", "name": "attn/MatMul_fence_before", "args": {"provider": CUDA}},
        _kernel("mask/Shape", "Shape", "CPUExecutionProvider"),
        _kernel("Memcpy_token_0", "MemcpyFromHost", CUDA),
    ]
    placement = read_profile(events, CUDA)
    assert placement.nodes_per_provider == {CUDA: 2, "CPUExecutionProvider": 1}
    assert placement.elsewhere == ("Shape mask/Shape",)
    assert placement.memcpy == ("MemcpyFromHost Memcpy_token_0",)
    with pytest.raises(PlacementError, match=r"1 Memcpy: MemcpyFromHost.*Shape mask/Shape"):
        require_one_device(placement, "onnxruntime-cuda-float32-cuda_graph")
    clean = read_profile([_kernel("attn/MatMul", "MatMul", CUDA)], CUDA)
    require_one_device(clean, "a clean graph")
    with pytest.raises(PlacementError, match="no node kernels"):
        read_profile([], CUDA)


class _Input:
    def __init__(self, name: str, shape: list) -> None:
        self.name, self.shape = name, shape


class _Session:
    def __init__(self, *inputs: _Input) -> None:
        self.inputs = inputs

    def get_inputs(self):
        return self.inputs


def test_a_cuda_graph_row_needs_every_axis_fixed() -> None:
    fixed = _Session(_Input("input_ids", [2, 16]), _Input("attention_mask", [2, 16]))
    feed = static_feed(fixed)
    assert {k: v.shape for k, v in feed.items()} == dict.fromkeys(feed, (2, 16))
    assert set(feed) == {"input_ids", "attention_mask"}
    with pytest.raises(PlacementError, match=r"\['batch', 'sequence'\].*every axis fixed"):
        static_feed(_Session(_Input("input_ids", ["batch", "sequence"])))


@pytest.mark.slow  # exports a graph and profiles one run
def test_profiled_placement_of_a_real_session(tmp_path) -> None:
    from harness.export.onnx import export_onnx
    from harness.export.static import static_shape_graph
    from tests.harness.pruned_models import tiny_pruned

    exported = export_onnx(tiny_pruned(), tmp_path, sample_batch_sizes=(2,), seq_lens=(8,))
    graph = static_shape_graph(exported, 2, 16)
    placement = profile_placement(graph.path, RuntimeSpec("onnxruntime", threads=1))
    assert placement.clean and placement.nodes_per_provider["CPUExecutionProvider"] > 10


def test_torch_float32_on_cuda_is_refused_under_tf32() -> None:
    fp32 = RuntimeSpec("torch", "cuda", "float32")
    with pytest.raises(Tf32EnabledError, match="set_float32_matmul_precision"):
        check_float32_matmul(fp32, "high")
    check_float32_matmul(fp32, "highest")
    check_float32_matmul(RuntimeSpec("torch", "cuda", "float16"), "high")  # no float32 matmul
    check_float32_matmul(RuntimeSpec("torch"), "medium")  # no TF32 on a CPU


def test_a_row_is_scored_by_the_plain_runtime_of_its_device_dtype_and_graph() -> None:
    graph = RuntimeSpec("onnxruntime", "cuda", "float16", "cuda_graph", threads=None)
    assert scoring_spec(graph).name == "onnxruntime-cuda-float16-iobinding"
    assert scoring_spec(RuntimeSpec("torch", "cuda", variant="cuda_graph")).name == (
        "torch-cuda-float32-eager"
    )
    assert scoring_spec(RuntimeSpec("onnxruntime", variant="fused")).variant == "fused"
    assert scoring_spec(RuntimeSpec("torch", threads=1)).threads is None


# --- CUDA (the device check runs these: pytest -m gpu) --------------------------------------


@pytest.mark.gpu
def test_on_cuda_the_fixed_shape_graph_runs_wholly_on_the_gpu(tmp_path) -> None:
    from harness.export.io_names import dummy_batch
    from harness.export.onnx import export_onnx
    from harness.export.static import static_shape_graph
    from tests.harness.pruned_models import tiny_pruned

    exported = export_onnx(tiny_pruned(), tmp_path, sample_batch_sizes=(2,), seq_lens=(8,))
    spec = RuntimeSpec("onnxruntime", "cuda", variant="cuda_graph")
    static = profile_placement(static_shape_graph(exported, 2, 16).path, spec)
    assert static.clean and set(static.nodes_per_provider) == {CUDA}
    # the dynamic graph is why: its shape arithmetic runs on the CPU (or needs host copies)
    feed = dummy_batch(2, 16, vocab_size=128, pad_last_rows=1)
    dynamic = profile_placement(exported.path, spec, feed)
    assert not dynamic.clean
    with pytest.raises(PlacementError, match="every axis fixed"):
        load_runtime(spec, exported)


@pytest.mark.gpu
def test_an_ort_cuda_timing_child_finds_the_cuda_libraries(tmp_path) -> None:
    from harness.export.onnx import export_onnx
    from harness.measure.clock import TimingResult, TimingSpec
    from harness.measure.isolated import IsolatedJob, measure_isolated
    from tests.harness.pruned_models import tiny_pruned

    graph = export_onnx(tiny_pruned(), tmp_path, sample_batch_sizes=(2,), seq_lens=(8,)).path
    names = ("input_ids", "attention_mask", "token_type_ids")
    job = IsolatedJob(RuntimeSpec("onnxruntime", "cuda"), graph, 2, 16, 128, names, 0, 1)
    spec = TimingSpec(warmup_iters=1, min_iters=3, min_seconds=0.0, max_iters=3)
    (result,) = measure_isolated({"x": job}, spec, timeout_s=300).values()
    assert isinstance(result, TimingResult) and len(result.samples_s) == 3
