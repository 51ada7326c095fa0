"""float16 twin of an exported float32 graph (int64 inputs and fp32 outputs kept), gated against
the float32 PyTorch model with fp16 tolerances. A separate step, so fp32 is exported once.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

from torch import nn

from harness.export.manifest import derive_manifest
from harness.export.onnx import ExportedModel, gate_against

log = logging.getLogger(__name__)

FP16_ATOL = 1e-2  # fp16 graph vs the fp32 PyTorch reference
FP16_RTOL = 1e-2


def _convert(src: Path, dst: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    # int64 inputs and fp32 outputs stay as they are; the graph computes in fp16 inside.
    onnx.save(convert_float_to_float16(onnx.load(str(src)), keep_io_types=True), str(dst))


def to_fp16(exported: ExportedModel, reference: nn.Module) -> ExportedModel:
    """Write ``<stem>_fp16.onnx`` beside the fp32 graph; raises `ExportMismatchError`."""
    if exported.dtype != "float32":
        raise ValueError(f"convert the float32 graph, not {exported.path} ({exported.dtype})")
    start = time.perf_counter()
    path = exported.path.with_name(f"{exported.path.stem}_fp16.onnx")
    _convert(exported.path, path)
    diff = gate_against(reference, exported, path, atol=FP16_ATOL, rtol=FP16_RTOL)
    manifest = derive_manifest(exported.path, path, dtype="float16", max_abs_diff=diff)
    seconds = time.perf_counter() - start
    log.info("fp16 %s in %.1f s (max |diff| %.3g)", path.name, seconds, diff)
    return dataclasses.replace(
        exported,
        path=path,
        max_abs_diff=diff,
        manifest_path=manifest,
        seconds=seconds,
        dtype="float16",
    )
