"""Runtime protocol, `RuntimeSpec`, the one backend registry (`BACKENDS`) and runtime errors.

Everything the harness knows about a backend is its `Backend` record: its variants and devices,
the artifact each variant runs (the torch module, an ONNX graph, a fused graph), and the loaders
for this process and for an isolated timing child. Adding a backend is one record here plus its
runtime module; there are no backend `if` chains elsewhere. Imports neither torch nor onnxruntime.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

import numpy as np

from harness.errors import UsageError

log = logging.getLogger(__name__)

RuntimeName = Literal["torch", "onnxruntime"]
Device = Literal["cpu", "cuda"]
DType = Literal["float32", "float16"]


class RuntimeUnavailableError(UsageError):
    """The requested backend/device cannot run here."""


class CudaUnavailableError(RuntimeUnavailableError):
    """CUDA was requested but this machine/build has none."""


class ProviderUnavailableError(RuntimeUnavailableError):
    """An ONNX Runtime session's active provider is not the requested one (silent fallback)."""


ArtifactKind = Literal["module", "onnx", "onnx-fused", "onnx-static"]
"""What a runtime loads: the PyTorch module, the exported ONNX graph, its ORT-fused twin, or the
graph with every axis fixed to the timed (batch, sequence) shape (one file per shape)."""


@dataclass(frozen=True)
class Backend:
    """One backend: its variants (-> devices; the first listed per device is the default), what
    each variant loads, and "module:function" loaders imported lazily (this process / a child)."""

    name: str
    variants: Mapping[str, frozenset[str]]
    loader: str
    artifact: ArtifactKind
    variant_artifacts: Mapping[str, ArtifactKind] = field(default_factory=dict)
    child_artifact_loader: str = ""
    """Turns the artifact path a timing child receives into what `loader` takes ("" = the path)."""

    def artifact_of(self, variant: str) -> ArtifactKind:
        return self.variant_artifacts.get(variant, self.artifact)


BACKENDS: dict[str, Backend] = {
    "torch": Backend(
        "torch",
        {"eager": frozenset({"cpu", "cuda"}), "cuda_graph": frozenset({"cuda"})},
        loader="harness.runtimes.torch_runtime:load_torch_runtime",
        artifact="module",
        child_artifact_loader="harness.runtimes.torch_runtime:load_saved_module",
    ),
    "onnxruntime": Backend(
        "onnxruntime",
        {
            "default": frozenset({"cpu"}),
            "iobinding": frozenset({"cuda", "cpu"}),
            "cuda_graph": frozenset({"cuda"}),
            "fused": frozenset({"cpu", "cuda"}),
        },
        loader="harness.runtimes.ort_runtime:load_ort_runtime",
        artifact="onnx",
        # A CUDA graph needs every node on the GPU: with fixed axes ORT folds the attention
        # mask's shape arithmetic away, which otherwise runs on the CPU (Memcpy, sync Range).
        variant_artifacts={"fused": "onnx-fused", "cuda_graph": "onnx-static"},
    ),
}


def default_variant(backend: str, device: str) -> str:
    """First variant of ``backend`` that runs on ``device`` (torch: eager; ORT CUDA: iobinding)."""
    for variant, devices in BACKENDS[backend].variants.items():
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
        variants = BACKENDS[self.backend].variants
        _check_choice("variant", self.variant, tuple(variants))
        if self.device not in variants[self.variant]:
            raise ValueError(
                f"variant {self.variant!r} of {self.backend} does not run on {self.device}; "
                f"it runs on {sorted(variants[self.variant])}"
            )
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 or None, got {self.threads}")

    @property
    def name(self) -> str:
        """Short label, e.g. ``onnxruntime-cuda-float16-iobinding``."""
        return f"{self.backend}-{self.device}-{self.dtype}-{self.variant}"

    @property
    def artifact(self) -> ArtifactKind:
        """What this runtime loads (the module, the ONNX graph or the fused graph)."""
        return BACKENDS[self.backend].artifact_of(self.variant)


def scoring_spec(spec: RuntimeSpec) -> RuntimeSpec:
    """The runtime whose task metric a row of `spec` carries: same backend, device and dtype,
    and the same graph (fused or not); a CUDA graph replays one shape, so its rows are scored by
    the plain variant on the same device. Threads are left to the backend (they change speed,
    not numbers)."""
    variant = spec.variant if spec.variant == "fused" else ""
    return RuntimeSpec(spec.backend, spec.device, spec.dtype, variant)


def _check_choice(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {field} {value!r}; choose one of {list(allowed)}")


Predictor = Callable[[Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]
"""Host numpy in (int64 [B,T] input_ids, attention_mask, maybe token_type_ids), numpy task outputs
out by name ("logits" [B,C], or "start_logits"/"end_logits" [B,T]): `Runtime.run`, and what the
parity gate and evaluation take."""


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


def _function(target: str) -> Callable[..., Any]:
    module_name, _, function = target.partition(":")
    return getattr(importlib.import_module(module_name), function)  # type: ignore[no-any-return]


def load_runtime(spec: RuntimeSpec, artifact: Any) -> Runtime:
    """Load ``artifact`` (what ``spec.artifact`` names: an nn.Module, or an ExportedModel or .onnx
    path) on the spec's backend."""
    runtime: Runtime = _function(BACKENDS[spec.backend].loader)(spec, artifact)
    log.info("loaded %s (threads=%s)", spec.name, runtime.threads)
    return runtime


def load_child_artifact(spec: RuntimeSpec, path: str) -> Any:
    """In a timing child: what `load_runtime` takes, from the artifact path the parent wrote."""
    target = BACKENDS[spec.backend].child_artifact_loader
    return _function(target)(path) if target else path
