"""PyTorch runtime: eager (CPU/CUDA, fp32/fp16) and CUDA-graph replay (CUDA), inference mode.

Converts a copy of the model when device/dtype differ (the caller's model is never moved).
Sets torch's intra-op thread count when asked (process-wide) and records the effective value.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from harness.export.io_names import model_output_names
from harness.runtimes.base import CudaUnavailableError, RuntimeSpec, RuntimeUnavailableError

log = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "float16": torch.float16}
CUDA_GRAPH_WARMUP_ITERS = 3  # eager runs on a side stream before capture (allocator warm-up)


def _tensors(inputs: Mapping[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in inputs.items()}


def _to_numpy(outputs: Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {name: t.detach().float().cpu().numpy() for name, t in outputs.items()}


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode inside the block; its previous train/eval mode restored after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def torch_predictor(
    model: nn.Module,
) -> Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]:
    """Host numpy in, fp32 numpy task outputs out, on the model's current device (eval mode)."""
    device = next(model.parameters()).device

    def predict(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        tensors = _tensors(inputs, device)
        with torch.inference_mode():
            out = model(**tensors)
            return _to_numpy({name: out[name] for name in model_output_names(out)})

    return predict


class TorchRuntime:
    """A model on one device/dtype; see `harness.runtimes.base.Runtime`."""

    def __init__(self, spec: RuntimeSpec, model: nn.Module) -> None:
        self.spec = spec
        self.model = model
        self.torch_device = torch.device(spec.device)
        self.threads: int | None = torch.get_num_threads() if spec.device == "cpu" else None
        self._graph: torch.cuda.CUDAGraph | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def _forward(self, tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        with torch.inference_mode():
            out = self.model(**tensors)
            return {name: out[name] for name in model_output_names(out)}

    def _to_device(self, inputs: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {
            k: torch.from_numpy(np.ascontiguousarray(v)).to(self.torch_device)
            for k, v in inputs.items()
        }

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return _to_numpy(self._forward(self._to_device(inputs)))

    def bind(self, inputs: Mapping[str, np.ndarray]) -> Callable[[], object]:
        tensors = self._to_device(inputs)
        if self.spec.variant == "cuda_graph":
            return self._capture(tensors)
        return lambda: self._forward(tensors)

    def _capture(self, tensors: Mapping[str, torch.Tensor]) -> Callable[[], object]:
        # Static inputs at fixed addresses; warm up on a side stream, then capture one forward.
        side = torch.cuda.Stream()  # type: ignore[no-untyped-call]
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(CUDA_GRAPH_WARMUP_ITERS):
                self._forward(tensors)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = self._forward(tensors)
        self._graph = graph

        def replay() -> dict[str, torch.Tensor]:
            graph.replay()
            return static_out

        return replay

    def sync(self) -> None:
        if self.torch_device.type == "cuda":
            torch.cuda.synchronize(self.torch_device)


class Tf32EnabledError(RuntimeUnavailableError):
    """float32 matmuls would run as TF32 (set process-wide), so a float32 row would not be one."""


def check_float32_matmul(spec: RuntimeSpec, precision: str) -> None:
    """Refuse a CUDA float32 row when torch's float32 matmul precision (``precision``, from
    `torch.get_float32_matmul_precision`) is not "highest": ORT's CUDA rows run IEEE float32
    (`use_tf32=0`), and the two must compute the same thing."""
    if spec.device == "cuda" and spec.dtype == "float32" and precision != "highest":
        raise Tf32EnabledError(
            f"{spec.name}: torch's float32 matmul precision is {precision!r} (TF32) in this "
            "process; call torch.set_float32_matmul_precision('highest') before the sweep"
        )


def load_torch_runtime(spec: RuntimeSpec, model: nn.Module) -> TorchRuntime:
    """Torch runtime for ``model``; raises `CudaUnavailableError` when CUDA is asked but absent
    and `Tf32EnabledError` when a float32 CUDA row would run TF32."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"the torch backend needs an nn.Module, got {type(model).__name__}")
    if spec.device == "cuda" and not torch.cuda.is_available():
        raise CudaUnavailableError(
            f"{spec.name} needs CUDA but torch {torch.__version__} sees no CUDA device; run on a "
            "GPU machine with a CUDA build of torch, or drop 'cuda' from the devices"
        )
    check_float32_matmul(spec, torch.get_float32_matmul_precision())
    if spec.threads is not None and spec.device == "cpu":
        torch.set_num_threads(spec.threads)
    dtype = _DTYPES[spec.dtype]
    param = next(model.parameters())
    if param.device.type != spec.device or param.dtype != dtype or model.training:
        model = copy.deepcopy(model).to(device=spec.device, dtype=dtype).eval()
    return TorchRuntime(spec, model)


def save_module(model: nn.Module, directory: Path) -> Path:
    """Write a (pruned) task model where a timing child can load it (`kprune.save_pruned`)."""
    from kprune import save_pruned

    return save_pruned(model, directory)


def load_saved_module(directory: str) -> nn.Module:
    """The model `save_module` wrote (in a timing child)."""
    from kprune import load_pruned

    return load_pruned(directory)
