"""Runtime protocol, `RuntimeSpec`, the one backend registry, and runtime availability errors.

Backends load lazily through `RUNTIME_LOADERS`; there are no backend `if` chains elsewhere.
Importing this module loads neither torch nor onnxruntime.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args

import numpy as np

from harness.errors import HarnessError

log = logging.getLogger(__name__)

RuntimeName = Literal["torch", "onnxruntime"]
Device = Literal["cpu", "cuda"]
DType = Literal["float32", "float16"]

# backend -> variant -> devices it runs on. The first variant listed per device is the default.
VARIANTS: dict[str, dict[str, frozenset[str]]] = {
    "torch": {
        "eager": frozenset({"cpu", "cuda"}),
        "cuda_graph": frozenset({"cuda"}),
    },
    "onnxruntime": {
        "default": frozenset({"cpu"}),
        "iobinding": frozenset({"cuda", "cpu"}),
        "cuda_graph": frozenset({"cuda"}),
    },
}


class RuntimeUnavailableError(HarnessError):
    """The requested backend/device cannot run here."""


class CudaUnavailableError(RuntimeUnavailableError):
    """CUDA was requested but this machine/build has none."""


class ProviderUnavailableError(RuntimeUnavailableError):
    """An ONNX Runtime session's active provider is not the requested one (silent fallback)."""


def default_variant(backend: str, device: str) -> str:
    """First variant of ``backend`` that runs on ``device`` (torch: eager; ORT CUDA: iobinding)."""
    for variant, devices in VARIANTS[backend].items():
        if device in devices:
            return variant
    raise ValueError(f"backend {backend!r} has no variant for device {device!r}")


@dataclass(frozen=True)
class RuntimeSpec:
    """What to run: backend, device, float dtype, variant ("" = default), intra-op threads."""

    backend: RuntimeName
    device: Device = "cpu"
    dtype: DType = "float32"
    variant: str = ""
    threads: int | None = None

    def __post_init__(self) -> None:
        _check_choice("backend", self.backend, get_args(RuntimeName))
        _check_choice("device", self.device, get_args(Device))
        _check_choice("dtype", self.dtype, get_args(DType))
        if not self.variant:
            # Normalisation only (no I/O): an empty variant means the backend's default.
            object.__setattr__(self, "variant", default_variant(self.backend, self.device))
        _check_choice("variant", self.variant, tuple(VARIANTS[self.backend]))
        if self.device not in VARIANTS[self.backend][self.variant]:
            raise ValueError(
                f"variant {self.variant!r} of {self.backend} does not run on {self.device}; "
                f"it runs on {sorted(VARIANTS[self.backend][self.variant])}"
            )
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 or None, got {self.threads}")

    @property
    def name(self) -> str:
        """Short label, e.g. ``onnxruntime-cuda-float16-iobinding``."""
        return f"{self.backend}-{self.device}-{self.dtype}-{self.variant}"


def _check_choice(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {field} {value!r}; choose one of {list(allowed)}")


class Runtime(Protocol):
    """A loaded model on one backend/device; ``spec`` holds backend, device, dtype and variant.

    ``run`` is host numpy in, host numpy out (for parity and evaluation). ``bind`` places inputs on
    the device once and returns the zero-argument call that timing measures; its result is the
    usable output (on the device) once ``sync`` returns.
    """

    spec: RuntimeSpec
    threads: int | None  # effective intra-op threads (None on CUDA or when left to the backend)

    @property
    def name(self) -> str: ...

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def bind(self, inputs: Mapping[str, np.ndarray]) -> Callable[[], object]: ...

    def sync(self) -> None: ...


# backend -> "module:function" building a Runtime from (spec, model_or_exported); imported lazily.
RUNTIME_LOADERS: dict[str, str] = {
    "torch": "harness.runtimes.torch_runtime:load_torch_runtime",
    "onnxruntime": "harness.runtimes.ort_runtime:load_ort_runtime",
}


def load_runtime(spec: RuntimeSpec, model_or_exported: Any) -> Runtime:
    """Load ``model_or_exported`` (nn.Module for torch; ExportedModel or .onnx path for ORT)."""
    module_name, _, function = RUNTIME_LOADERS[spec.backend].partition(":")
    loader = getattr(importlib.import_module(module_name), function)
    runtime: Runtime = loader(spec, model_or_exported)
    log.info("loaded %s (threads=%s)", spec.name, runtime.threads)
    return runtime
