"""Export a dense (pruned) encoder to a float32 ONNX graph with dynamic batch/sequence axes, a
structure manifest and a parity gate against PyTorch (fp16 is a separate step: `export.fp16`).

Never mutates the caller's model (train/eval mode is restored) and never times anything.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from harness.errors import MeasuredFailure
from harness.export.io_names import (
    dummy_batch,
    model_input_names,
    model_output_names,
    output_dynamic_axes,
)
from harness.export.manifest import write_manifest
from harness.export.parity import ExportMismatchError, check_parity, parity_shapes
from harness.runtimes.ort_runtime import ort_predictor
from harness.runtimes.torch_runtime import eval_mode, torch_predictor

__all__ = [
    "DEFAULT_OPSET",
    "ExportError",
    "ExportMismatchError",
    "ExportedModel",
    "export_onnx",
    "gate_against",
]

log = logging.getLogger(__name__)

DEFAULT_OPSET = 17
MAX_IR_VERSION = 13  # onnxruntime-gpu 1.31 reads ONNX IR <= 13 (environment.md)


class ExportError(MeasuredFailure):
    """The graph cannot be used as exported (e.g. an IR version onnxruntime cannot read)."""


@dataclass(frozen=True)
class ExportedModel:
    """An exported graph that passed the parity gate; ``dtype`` is its float type."""

    path: Path
    opset: int
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    max_abs_diff: float
    manifest_path: Path
    seconds: float
    dtype: str = "float32"
    fused_ops: Mapping[str, int] | None = field(default=None)


class _TupleOutputs(nn.Module):
    """Named tensor inputs in, a tuple of the task outputs out (what the exporter traces)."""

    def __init__(self, model: nn.Module, input_names: Sequence[str], output_names: Sequence[str]):
        super().__init__()
        self.model = model
        self.input_names = tuple(input_names)
        self.output_names = tuple(output_names)

    def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(**dict(zip(self.input_names, tensors, strict=True)))
        return tuple(out[name] for name in self.output_names)


def _trace_inputs(model: nn.Module, names: Sequence[str], seq_len: int) -> tuple[torch.Tensor, ...]:
    # Batch 2 with one padded row: a size-1 or unpadded trace can specialise shapes or masks.
    vocab = int(cast(Any, model).config.vocab_size)
    batch = dummy_batch(2, seq_len, vocab_size=vocab, input_names=names, pad_last_rows=1)
    return tuple(torch.from_numpy(batch[name]) for name in names)


def _export_graph(
    wrapper: _TupleOutputs, args: tuple[torch.Tensor, ...], path: Path, opset: int
) -> None:
    with torch.inference_mode():
        outputs = wrapper(*args)
    axes = {name: {0: "batch", 1: "sequence"} for name in wrapper.input_names}
    for name, out in zip(wrapper.output_names, outputs, strict=True):
        axes[name] = output_dynamic_axes(name, out.dim())
    # The tracer warns about shape-dependent Python branches in HF code; the parity gate (padded
    # and unpadded, several shapes) is what decides whether the trace generalises.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _run_exporter(wrapper, args, path, opset, axes)
    for warning in caught:
        log.debug("exporter warning: %s", warning.message)
    log.info("exported %s (%d exporter warnings, see DEBUG log)", path.name, len(caught))


def _run_exporter(
    wrapper: _TupleOutputs,
    args: tuple[torch.Tensor, ...],
    path: Path,
    opset: int,
    axes: dict[str, dict[int, str]],
) -> None:
    torch.onnx.export(
        wrapper,
        args,
        str(path),
        dynamo=False,
        opset_version=opset,
        input_names=list(wrapper.input_names),
        output_names=list(wrapper.output_names),
        dynamic_axes=axes,
        do_constant_folding=True,
    )


def _check_ir_version(path: Path) -> None:
    import onnx

    ir = onnx.load(str(path), load_external_data=False).ir_version
    if ir > MAX_IR_VERSION:
        raise ExportError(
            f"{path} has ONNX IR {ir} but onnxruntime reads IR <= {MAX_IR_VERSION}; export with "
            "the legacy exporter (dynamo=False) or pass ir_version when building the model"
        )


def _trace_and_export(
    model: nn.Module, names: tuple[str, ...], path: Path, opset: int, seq_len: int
) -> tuple[str, ...]:
    """Export the eval-mode ``model`` to ``path``; returns its output names."""
    args = _trace_inputs(model, names, seq_len)
    with torch.inference_mode():
        outputs = model_output_names(model(**dict(zip(names, args, strict=True))))
    with eager_attention(model):
        _export_graph(_TupleOutputs(model, names, outputs).eval(), args, path, opset)
    model.eval()  # the exporter restores the wrapper's previous mode, which reaches the model
    return outputs


@contextmanager
def eager_attention(model: nn.Module) -> Iterator[None]:
    """Trace attention as explicit MatMul/Softmax ops, the previous implementation restored after.

    TorchScript's SDPA translation guards Softmax with IsNaN/Where, a pattern ONNX Runtime's
    Attention fusion does not match; the eager graph fuses, computes the same numbers (the parity
    gate checks) and measured no slower unfused on ORT's CPU provider."""
    config: Any = getattr(model, "config", None)
    previous = getattr(config, "_attn_implementation", None)
    if previous is None or not hasattr(model, "set_attn_implementation"):
        yield
        return
    cast(Any, model).set_attn_implementation("eager")
    try:
        yield
    finally:
        cast(Any, model).set_attn_implementation(previous)


def export_onnx(
    model: nn.Module,
    out_dir: Path | str,
    *,
    sample_batch_sizes: Sequence[int] = (1, 2),
    seq_lens: Sequence[int] = (8, 16),
    opset: int = DEFAULT_OPSET,
    atol: float = 1e-4,
    rtol: float = 1e-3,
    input_names: Sequence[str] | None = None,
    name: str = "model",
) -> ExportedModel:
    """Export ``model`` to ``out_dir/<name>.onnx``, a float32 graph with a manifest beside it.

    The graph is gated against PyTorch with (atol, rtol) on every (batch, seq) in
    sample_batch_sizes x seq_lens, unpadded and with a padded row; raises `ExportMismatchError`.
    """
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config: Any = cast(Any, model).config
    names = tuple(input_names or model_input_names(config))
    path, dtype = out / f"{name}.onnx", "float32"
    with eval_mode(model):
        outputs = _trace_and_export(model, names, path, opset, max(seq_lens))
        shapes = parity_shapes(sample_batch_sizes, seq_lens)
        gate = partial(check_parity, shapes=shapes, input_names=names, vocab_size=config.vocab_size)
        info = dict(opset=opset, input_names=list(names), output_names=list(outputs))
        diff = gate(torch_predictor(model), ort_predictor(path), path=path, atol=atol, rtol=rtol)
        _check_ir_version(path)
    manifest = write_manifest(path, model, dtype=dtype, max_abs_diff=diff, **info)
    seconds = time.perf_counter() - start
    log.info("exported %s in %.1f s (max |diff| %.3g)", path, seconds, diff)
    return ExportedModel(path, opset, names, outputs, diff, manifest, seconds, dtype)


def gate_against(
    model: nn.Module,
    exported: ExportedModel,
    path: Path,
    *,
    atol: float,
    rtol: float,
    sample_batch_sizes: Sequence[int] = (1, 2),
    seq_lens: Sequence[int] = (8, 16),
) -> float:
    """Parity of the graph at `path` (derived from `exported`) against PyTorch `model`."""
    vocab = int(cast(Any, model).config.vocab_size)
    with eval_mode(model):
        return check_parity(
            torch_predictor(model),
            ort_predictor(path),
            path=path,
            shapes=parity_shapes(sample_batch_sizes, seq_lens),
            input_names=exported.input_names,
            vocab_size=vocab,
            atol=atol,
            rtol=rtol,
        )
