"""ONNX Runtime's transformer fusions (Attention, SkipLayerNorm, BiasGelu, EmbedLayerNorm) on an
exported float32 graph, with fused-operator counts and the same parity gate as export: what the
`onnxruntime` backend's `fused` variant runs.

Heads are detected per layer (num_heads=0, each layer's count pinned into its reshape by
`export.heads`): a global head count is wrong for a pruned graph. The attention mask stays a raw
2-D mask (ORT's default mask index is only right for right padding). Never returns an unfused
graph as if it were fused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

from torch import nn

from harness.errors import MeasuredFailure
from harness.export.fp16 import FP16_ATOL, FP16_RTOL
from harness.export.heads import pin_head_counts
from harness.export.manifest import derive_manifest, read_manifest
from harness.export.onnx import ExportedModel
from harness.export.parity import check_parity, parity_shapes
from harness.runtimes.base import Predictor
from harness.runtimes.ort_runtime import ort_predictor
from harness.runtimes.torch_runtime import eval_mode, torch_predictor

log = logging.getLogger(__name__)

# Counted by the optimizer but already native in opset 17 graphs: not evidence of a fusion.
_NOT_FUSIONS = frozenset({"LayerNormalization", "SimplifiedLayerNormalization"})


class FusionNotApplicableError(MeasuredFailure):
    """The optimizer fused nothing (or not the required operators); the graph is unchanged."""


def _optimize(src: Path, *, use_gpu: bool) -> tuple[Any, dict[str, int]]:
    """(optimized OnnxModel, non-zero fused-operator counts); nothing is written."""
    import onnx
    from onnxruntime.transformers.fusion_options import AttentionMaskFormat, FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    graph = onnx.load(str(src))
    pin_head_counts(graph)
    options = FusionOptions("bert")
    options.attention_mask_format = AttentionMaskFormat.AttentionMask
    # opt_level=0: Python fusions only; the session applies ORT's own graph optimizations later.
    optimized = optimize_model(
        graph,
        model_type="bert",
        num_heads=0,
        hidden_size=0,
        opt_level=0,
        use_gpu=use_gpu,
        optimization_options=options,
    )
    counts = {op: int(n) for op, n in optimized.get_fused_operator_statistics().items() if n}
    return optimized, counts


ATTENTION_OPS = ("Attention", "MultiHeadAttention")
"""Fused attention as ORT writes it (a 1-head layer can become MultiHeadAttention)."""


def _check_applicable(
    path: Path, counts: dict[str, int], require_ops: Sequence[str], require_attention: bool
) -> None:
    fused = {op: n for op, n in counts.items() if op not in _NOT_FUSIONS}
    missing = [op for op in require_ops if not counts.get(op)]
    if require_attention and not any(counts.get(op) for op in ATTENTION_OPS):
        missing.append("Attention or MultiHeadAttention")
    if not fused or missing:
        raise FusionNotApplicableError(
            f"ORT fusion of {path} fused {fused or 'nothing'}"
            + (f"; required {missing} were not fused" if missing else "")
            + ". Time the unfused graph, or export so that each layer's head count is visible "
            "in its Reshape (environment.md)"
        )


def _gate(
    exported: ExportedModel,
    path: Path,
    reference: Predictor,
    batch_sizes: Sequence[int],
    seq_lens: Sequence[int],
    atol: float,
    rtol: float,
    fp16: bool,
) -> float:
    return check_parity(
        reference,
        ort_predictor(path),
        path=path,
        shapes=parity_shapes(batch_sizes, seq_lens),
        input_names=exported.input_names,
        vocab_size=int(read_manifest(exported.path)["vocab_size"]),
        atol=max(atol, FP16_ATOL) if fp16 else atol,
        rtol=max(rtol, FP16_RTOL) if fp16 else rtol,
    )


def fuse_onnx(
    exported: ExportedModel,
    *,
    reference_model: nn.Module | None = None,
    use_gpu: bool = False,
    fp16: bool = False,
    require_ops: Sequence[str] = (),
    require_attention: bool = False,
    sample_batch_sizes: Sequence[int] = (1, 2),
    seq_lens: Sequence[int] = (8, 16),
    atol: float = 1e-4,
    rtol: float = 1e-3,
) -> ExportedModel:
    """Fuse a float32 exported graph into ``<stem>_fused[_fp16].onnx``; counts in ``fused_ops``.

    Parity is checked against ``reference_model`` (PyTorch) when given, else against the unfused
    graph. Raises `FusionNotApplicableError` when nothing (or not every op in ``require_ops``,
    or no attention with ``require_attention``) was fused, and `ExportMismatchError` when
    numbers changed.
    """
    if exported.dtype != "float32":
        raise ValueError(f"fuse the float32 graph and pass fp16=True, not {exported.path}")
    start = time.perf_counter()
    suffix = "_fused_fp16" if fp16 else "_fused"
    path = exported.path.with_name(f"{exported.path.stem}{suffix}.onnx")
    optimized, counts = _optimize(exported.path, use_gpu=use_gpu)
    _check_applicable(exported.path, counts, require_ops, require_attention)
    if fp16:
        optimized.convert_float_to_float16(keep_io_types=True)
    optimized.save_model_to_file(str(path))
    with ExitStack() as stack:
        if reference_model is not None:
            reference = torch_predictor(stack.enter_context(eval_mode(reference_model)))
        else:
            reference = ort_predictor(exported.path)
        diff = _gate(exported, path, reference, sample_batch_sizes, seq_lens, atol, rtol, fp16)

    dtype = "float16" if fp16 else "float32"
    manifest = derive_manifest(
        exported.path, path, dtype=dtype, fused_ops=counts, fused_from=exported.path.name
    )
    seconds = time.perf_counter() - start
    log.info("fused %s -> %s: %s (max |diff| %.3g)", exported.path.name, path.name, counts, diff)
    return replace(
        exported,
        path=path,
        max_abs_diff=diff,
        manifest_path=manifest,
        seconds=seconds,
        dtype=dtype,
        fused_ops=counts,
    )
