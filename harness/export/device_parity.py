"""The parity gate on the runtime that is timed. The export gate runs ONNX Runtime on the CPU;
a row timed on CUDA, in float16 or on a fixed-shape graph runs other kernels. Before such a row
is timed, the plain runtime of its backend, device, dtype and graph (`scoring_spec`) must
reproduce the float32 PyTorch model on the CPU within the dtype's tolerance, on the shapes the
row runs (a fixed-shape graph: exactly its shape, unpadded and with a padded row).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from torch import nn

from harness.export.fp16 import FP16_ATOL, FP16_RTOL
from harness.export.io_names import model_input_names
from harness.export.parity import ParityShape, check_parity, parity_shapes
from harness.runtimes.base import ArtifactKind, RuntimeSpec, load_runtime, scoring_spec
from harness.runtimes.torch_runtime import eval_mode, torch_predictor

log = logging.getLogger(__name__)

TOLERANCES: dict[str, tuple[float, float]] = {
    "float32": (1e-4, 1e-3),  # IEEE float32 on any device (ORT CUDA runs with use_tf32=0)
    "float16": (FP16_ATOL, FP16_RTOL),
}
"""(atol, rtol) of a runtime's outputs against the float32 PyTorch model, by the row's dtype."""
DYNAMIC_SHAPES = parity_shapes((1, 2), (8, 16))


def needs_gate(spec: RuntimeSpec, artifact: ArtifactKind) -> bool:
    """Whether a row of `spec` runs what the export gate did not check: another device than
    the CPU, or a fixed-shape graph (fp16 and fused graphs on the CPU are gated when made)."""
    return spec.device != "cpu" or artifact == "onnx-static"


def probe_shapes(static_shape: Sequence[int] | None) -> tuple[ParityShape, ...]:
    """A fixed-shape graph runs exactly its (batch, seq), unpadded and with a padded last row."""
    if static_shape is None:
        return DYNAMIC_SHAPES
    batch, seq = static_shape
    return (ParityShape(batch, seq, 0), ParityShape(batch, seq, 1))


def gate_runtime(
    reference: nn.Module, spec: RuntimeSpec, artifact: Any, shapes: Sequence[ParityShape]
) -> float:
    """Max |diff| of `scoring_spec(spec)` running `artifact` against float32 PyTorch `reference`
    (on the CPU); raises `ExportMismatchError` listing every mismatch."""
    scoring = scoring_spec(spec)
    candidate = load_runtime(scoring, artifact)
    config: Any = cast(Any, reference).config
    names = getattr(artifact, "input_names", None) or model_input_names(config)
    atol, rtol = TOLERANCES[spec.dtype]
    where = Path(getattr(artifact, "path", scoring.name))
    with eval_mode(reference):
        diff = check_parity(
            torch_predictor(reference),
            candidate.run,
            path=where,
            shapes=shapes,
            input_names=names,
            vocab_size=int(config.vocab_size),
            atol=atol,
            rtol=rtol,
        )
    log.info("%s matches PyTorch on %s (max |diff| %.3g)", scoring.name, where.name, diff)
    return diff


@dataclass
class DeviceGates:
    """The (runtime, graph, shapes, reference) combinations that passed `gate_runtime`: each
    is gated once."""

    passed: dict[tuple[str, str, tuple[ParityShape, ...], int], float] = field(default_factory=dict)

    def ensure(
        self,
        reference: nn.Module,
        spec: RuntimeSpec,
        artifact: Any,
        static_shape: Sequence[int] | None = None,
    ) -> float:
        """Gate once; later calls with the same runtime, graph and shapes return the diff."""
        shapes = probe_shapes(static_shape)
        which = str(getattr(artifact, "path", None) or id(artifact))  # a module: this object
        key = (scoring_spec(spec).name, which, shapes, id(reference))
        if key not in self.passed:
            self.passed[key] = gate_runtime(reference, spec, artifact, shapes)
        return self.passed[key]
