"""ONNX Runtime sessions on exactly the requested provider: the provider options every CUDA row
runs with (no TF32 in float32), a check that ORT applied them, the CUDA libraries loaded the
same way in every process, and host-numpy predictors for parity and evaluation.

Imports onnxruntime lazily; imports torch only to load CUDA libraries for a CUDA session.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harness.runtimes.base import CudaUnavailableError, ProviderUnavailableError, RuntimeSpec

log = logging.getLogger(__name__)

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


class ProviderOptionsError(ProviderUnavailableError):
    """ONNX Runtime did not apply a provider option a row's definition depends on."""


def provider_options(spec: RuntimeSpec) -> dict[str, str]:
    """The options of `spec`'s provider. On CUDA, ORT runs float32 MatMul as TF32 unless told
    not to, while torch float32 does not: every CUDA session here is IEEE float32 (measurement.md:
    compare like with like)."""
    if spec.device != "cuda":
        return {}
    return {
        "device_id": "0",
        "enable_cuda_graph": "1" if spec.variant == "cuda_graph" else "0",
        "use_tf32": "0",
    }


def load_cuda_libraries() -> None:
    """Load the CUDA and cuDNN libraries ORT's CUDA provider links against the way the sweep
    process has them: a CUDA build of torch loads the NVIDIA libraries it ships with, process-wide,
    when imported. A timing child calls this before its first CUDA session, as the parent's
    import of torch did, so both find the same libraries (or both fail, and say so)."""
    if importlib.util.find_spec("torch") is None:
        log.info("torch is not installed; ORT's CUDA provider relies on the library path alone")
        return
    import torch

    log.debug(
        "CUDA libraries loaded through torch %s (CUDA %s)", torch.__version__, torch.version.cuda
    )


def _check_applied(session: Any, spec: RuntimeSpec, wanted: Mapping[str, str]) -> None:
    applied = session.get_provider_options().get(PROVIDERS[spec.device], {})
    wrong = {k: applied.get(k) for k, v in wanted.items() if applied.get(k) != v}
    if wrong:
        needed = {k: wanted[k] for k in wrong}
        raise ProviderOptionsError(
            f"{spec.name}: ONNX Runtime runs with {wrong} but this row needs {needed}; use an "
            "onnxruntime-gpu that supports these CUDA provider options (1.31 does)"
        )


def create_session(
    path: Path | str, spec: RuntimeSpec, *, profile_prefix: str | None = None
) -> Any:
    """InferenceSession on exactly the requested provider with `provider_options(spec)`;
    raises on fallback or when an option was not applied. `profile_prefix` turns on ORT's
    profiler (which node ran on which provider)."""
    if spec.device == "cuda":
        load_cuda_libraries()
    import onnxruntime as ort

    requested = PROVIDERS[spec.device]
    if requested not in ort.get_available_providers():
        raise CudaUnavailableError(
            f"{spec.name}: onnxruntime {ort.__version__} has no {requested} (available: "
            f"{ort.get_available_providers()}); install onnxruntime-gpu on a CUDA machine"
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = spec.threads or 0  # 0 = ORT default (physical cores)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    wanted = provider_options(spec)
    session = ort.InferenceSession(str(path), sess_options=options, providers=[(requested, wanted)])
    active = session.get_providers()
    if active[0] != requested:
        raise ProviderUnavailableError(
            f"{spec.name}: asked for {requested} but the session runs on {active} (ONNX Runtime "
            "fell back silently, e.g. CUDA/cuDNN libraries failed to load); fix the CUDA install "
            "or drop this runtime"
        )
    _check_applied(session, spec, wanted)
    return session


def ort_predictor(
    session_or_path: Any, spec: RuntimeSpec | None = None
) -> Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]:
    """Host numpy in, numpy out by output name; inputs the graph lacks are dropped. A path is
    opened on `spec`'s device (default: the CPU)."""
    session = session_or_path
    if isinstance(session_or_path, str | Path):
        session = create_session(session_or_path, spec or RuntimeSpec("onnxruntime"))
    needed = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]

    def predict(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        missing = set(needed) - set(inputs)
        if missing:
            raise ValueError(f"inputs {sorted(missing)} missing; the graph needs {needed}")
        feed = {k: np.ascontiguousarray(inputs[k], dtype=np.int64) for k in needed}
        return dict(zip(outputs, session.run(outputs, feed), strict=True))

    return predict
