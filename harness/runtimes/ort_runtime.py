"""ONNX Runtime: a runtime over a session from `ort_session` (explicit provider, fallback is an
error), CPU EP with pinned intra-op threads, IO binding with pre-allocated reused buffers, and
CUDA graphs on a fixed-shape graph whose nodes were all seen on the GPU first (`placement`).

Imports onnxruntime lazily and torch only for a CUDA session (`ort_session.load_cuda_libraries`),
so a timing subprocess for ORT on the CPU stays torch-free.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.export.manifest import manifest_path_for, read_manifest
from harness.runtimes.base import RuntimeSpec
from harness.runtimes.ort_session import PROVIDERS, create_session, ort_predictor
from harness.runtimes.placement import profile_placement, require_one_device

__all__ = ["PROVIDERS", "OrtRuntime", "create_session", "load_ort_runtime", "ort_predictor"]

log = logging.getLogger(__name__)

_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64}


def _output_shape(dims: Sequence[Any], batch: int, seq: int) -> tuple[int, ...]:
    symbols = {"batch": batch, "sequence": seq}
    if not all(isinstance(d, int) or d in symbols for d in dims):
        raise ValueError(f"cannot pre-allocate an output with dims {list(dims)}")
    return tuple(d if isinstance(d, int) else symbols[d] for d in dims)


@dataclass(frozen=True)
class _Binding:
    """Pre-allocated input/output buffers on the device, bound to one IOBinding."""

    io: Any
    inputs: dict[str, Any]
    outputs: list[Any]


class OrtRuntime:
    """An ONNX Runtime session; see `harness.runtimes.base.Runtime`."""

    def __init__(self, spec: RuntimeSpec, session: Any) -> None:
        self.spec = spec
        self.session = session
        self.threads: int | None = spec.threads if spec.device == "cpu" else None
        self.input_names = [i.name for i in session.get_inputs()]
        self.output_names = [o.name for o in session.get_outputs()]
        self._graph_binding: _Binding | None = None  # the one binding a CUDA graph may replay
        self._last: _Binding | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def _feed(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k: np.ascontiguousarray(inputs[k], dtype=np.int64) for k in self.input_names}

    @property
    def _plain_run(self) -> bool:
        # session.run copies inputs and outputs through the host each call; on the CPU that is
        # how the graph is used in production, on CUDA only IO binding times the graph itself.
        return self.spec.variant == "default" or (
            self.spec.variant == "fused" and self.spec.device == "cpu"
        )

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self._plain_run:
            values = self.session.run(self.output_names, self._feed(inputs))
            return dict(zip(self.output_names, values, strict=True))
        feed = self._feed(inputs)
        binding = self._graph_binding
        if binding is None:
            binding = self._new_binding(feed)
        else:  # a captured graph replays fixed addresses: refill the bound buffers in place
            for name, array in feed.items():
                binding.inputs[name].update_inplace(array)
        outputs = self._caller(binding)()
        self.sync()
        return {n: v.numpy() for n, v in zip(self.output_names, outputs, strict=True)}

    def bind(self, inputs: Mapping[str, np.ndarray]) -> Callable[[], object]:
        if self._plain_run:
            feed = self._feed(inputs)
            return lambda: self.session.run(self.output_names, feed)
        if self._graph_binding is not None:
            raise ValueError(
                f"{self.spec.name}: a captured CUDA graph has fixed shapes and addresses; load a "
                "new runtime for another batch size or sequence length"
            )
        return self._caller(self._new_binding(self._feed(inputs)))

    def _new_binding(self, feed: Mapping[str, np.ndarray]) -> _Binding:
        binding = self._bind_buffers(feed)
        if self.spec.variant == "cuda_graph":
            self._graph_binding = binding
        return binding

    def _caller(self, binding: _Binding) -> Callable[[], list[Any]]:
        def call() -> list[Any]:
            self._last = binding
            self.session.run_with_iobinding(binding.io)
            return binding.outputs

        return call

    def _bind_buffers(self, feed: Mapping[str, np.ndarray]) -> _Binding:
        import onnxruntime as ort

        device, io = self.spec.device, self.session.io_binding()
        inputs = {n: ort.OrtValue.ortvalue_from_numpy(a, device, 0) for n, a in feed.items()}
        for name, value in inputs.items():
            io.bind_ortvalue_input(name, value)
        batch, seq = feed[self.input_names[0]].shape
        outputs = []
        for meta in self.session.get_outputs():
            shape = _output_shape(meta.shape, batch, seq)
            value = ort.OrtValue.ortvalue_from_shape_and_type(
                shape, _ORT_TYPES[meta.type], device, 0
            )
            io.bind_ortvalue_output(meta.name, value)
            outputs.append(value)
        return _Binding(io, inputs, outputs)

    def sync(self) -> None:
        if self._last is not None and self.spec.device == "cuda":
            self._last.io.synchronize_outputs()


def _check_dtype(path: Path, spec: RuntimeSpec, declared: str | None) -> None:
    if declared is None and manifest_path_for(path).exists():
        declared = read_manifest(path).get("dtype")
    if declared is None:
        log.warning("%s has no manifest; cannot check it is %s", path, spec.dtype)
    elif declared != spec.dtype:
        raise ValueError(
            f"{path} is a {declared} graph but {spec.name} asks for {spec.dtype}; export with "
            f"fp16={spec.dtype == 'float16'}"
        )


def load_ort_runtime(spec: RuntimeSpec, exported: Any) -> OrtRuntime:
    """ORT runtime from an `ExportedModel` or a .onnx path (dtype checked against the manifest).
    A CUDA-graph runtime first profiles one run of the graph and refuses it (`PlacementError`)
    when any node ran off the GPU or ORT inserted host copies."""
    path = Path(getattr(exported, "path", exported))
    _check_dtype(path, spec, getattr(exported, "dtype", None))
    if spec.variant == "cuda_graph":
        require_one_device(profile_placement(path, spec), f"{spec.name} on {path.name}")
    return OrtRuntime(spec, create_session(path, spec))
