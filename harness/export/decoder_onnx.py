"""Export a causal LM (Llama family) to two float32 ONNX graphs, prefill and decode-with-cache
(`decoder_graphs`), each gated against PyTorch on several shapes before it is returned.

Uses the legacy TorchScript exporter with eager attention: on transformers 5.x it traces the
cache update and the causal mask with dynamic batch, sequence and past lengths (the gate checks
past lengths 0 and several others). Never mutates the caller's model; never times anything.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.export.decoder_graphs import (
    DECODE_INPUTS,
    LOGITS,
    PREFILL_INPUTS,
    DecodeGraph,
    PrefillGraph,
    kv_shape,
    past_names,
    present_names,
)
from harness.export.onnx import DEFAULT_OPSET, eager_attention
from harness.export.parity import ExportMismatchError, Mismatch, ParityShape
from harness.runtimes.base import RuntimeSpec
from harness.runtimes.ort_session import create_session
from harness.runtimes.torch_runtime import eval_mode

log = logging.getLogger(__name__)

PREFILL_PROBES = ((1, 8), (2, 16))
"""(batch, sequence) the prefill graph is checked on."""
DECODE_PROBES = ((1, 6, 0), (2, 1, 7), (1, 1, 19), (2, 3, 5))
"""(batch, new tokens, past length): a cache-building prefill, single steps, a multi-token step."""
_TRACE_SHAPE = (2, 4, 5)  # not a probe value: a trace that baked a size in fails the gate


@dataclass(frozen=True)
class ExportedDecoder:
    """Both graphs after the parity gate; `max_abs_diff` is the worst |logit/cache diff|."""

    prefill_path: Path
    decode_path: Path
    opset: int
    layers: int
    max_abs_diff: float
    seconds: float
    decode_with_cache: bool = True
    """ORT decoding feeds `present.*` back as `past.*` (not a re-run of the prefill graph)."""


def _export(module: nn.Module, args: tuple[torch.Tensor, ...], path: Path, **kwargs: Any) -> None:
    # Shape-dependent Python branches in HF code make the tracer warn; the gate decides.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.onnx.export(module, args, str(path), dynamo=False, do_constant_folding=True, **kwargs)
    log.info("exported %s (%d exporter warnings)", path.name, len(caught))


def _decode_args(
    model: nn.Module, batch: int, new: int, past: int, seed: int
) -> dict[str, np.ndarray]:
    """Random new tokens after a cache that the model built from `past` random tokens.

    A real cache, not noise: random keys and values of unit scale push 30 layers far off their
    operating range, where float32 rounding alone exceeds any useful tolerance."""
    config: Any = model.config
    rng = np.random.default_rng(seed)
    prompt = torch.from_numpy(rng.integers(0, config.vocab_size, (batch, past), dtype=np.int64))
    layers = range(int(config.num_hidden_layers))
    cache = [torch.zeros(kv_shape(model, i, batch, 0)) for i in layers for _ in ("key", "value")]
    if past:  # PyTorch cannot run zero tokens; an empty cache is the zero-length past
        with torch.inference_mode():
            positions = torch.arange(past).expand(batch, past)
            _, *cache = DecodeGraph(model)(prompt, positions, *cache)
    feed = {
        "input_ids": rng.integers(0, config.vocab_size, (batch, new), dtype=np.int64),
        "position_ids": np.tile(np.arange(past, past + new, dtype=np.int64), (batch, 1)),
    }
    feed.update(zip(past_names(len(cache) // 2), (t.numpy() for t in cache), strict=True))
    return feed


def _axes(layers: int) -> dict[str, dict[int, str]]:
    axes = {name: {0: "batch", 1: "sequence"} for name in (*DECODE_INPUTS, LOGITS)}
    axes.update({name: {0: "batch", 2: "past_sequence"} for name in past_names(layers)})
    axes.update({name: {0: "batch", 2: "total_sequence"} for name in present_names(layers)})
    return axes


def _export_both(model: nn.Module, out: Path, opset: int) -> tuple[Path, Path]:
    config: Any = model.config
    layers = int(config.num_hidden_layers)
    prefill, decode = out / "prefill.onnx", out / "decode.onnx"
    feed = _decode_args(model, *_TRACE_SHAPE, seed=0)
    args = tuple(torch.from_numpy(v) for v in feed.values())
    _export(
        PrefillGraph(model).eval(),
        args[:1],
        prefill,
        opset_version=opset,
        input_names=list(PREFILL_INPUTS),
        output_names=[LOGITS],
        dynamic_axes={n: {0: "batch", 1: "sequence"} for n in (*PREFILL_INPUTS, LOGITS)},
    )
    _export(
        DecodeGraph(model).eval(),
        args,
        decode,
        opset_version=opset,
        input_names=[*DECODE_INPUTS, *past_names(layers)],
        output_names=[LOGITS, *present_names(layers)],
        dynamic_axes=_axes(layers),
    )
    return prefill, decode


def _compare(
    name: str, probe: ParityShape, ref: np.ndarray, got: np.ndarray, atol: float, rtol: float
) -> tuple[float, Mismatch | None]:
    if got.shape != ref.shape:
        return float("inf"), Mismatch(name, probe, ref.shape, got.shape, float("inf"))
    diff = float(np.abs(got.astype(np.float64) - ref).max()) if ref.size else 0.0
    close = np.allclose(got, ref, atol=atol, rtol=rtol)
    return diff, None if close else Mismatch(name, probe, ref.shape, got.shape, diff)


Probe = tuple[str, type[nn.Module], tuple[str, ...], tuple[int, int, int]]


def _probes(config: Any) -> list[Probe]:
    """(graph, PyTorch reference, graph inputs, (batch, new tokens, past)) of every probe."""
    layers = int(config.num_hidden_layers)
    decode_inputs = (*DECODE_INPUTS, *past_names(layers))
    prefill: list[Probe] = [
        ("prefill", PrefillGraph, PREFILL_INPUTS, (b, s, 0)) for b, s in PREFILL_PROBES
    ]
    return prefill + [("decode", DecodeGraph, decode_inputs, probe) for probe in DECODE_PROBES]


def _gate(model: nn.Module, paths: dict[str, Path], atol: float, rtol: float) -> float:
    """Worst |diff| of both graphs over all probes; ExportMismatchError lists every miss."""
    config: Any = model.config
    sessions = {
        graph: create_session(path, RuntimeSpec("onnxruntime")) for graph, path in paths.items()
    }
    worst, misses, failed = 0.0, [], []
    for seed, (graph, view, inputs, (batch, new, past)) in enumerate(_probes(config)):
        feed = _decode_args(model, batch, new, past, seed)
        with torch.inference_mode():
            expected = view(model)(*(torch.from_numpy(feed[n]) for n in inputs))
        expected = expected if isinstance(expected, tuple) else (expected,)
        names = [o.name for o in sessions[graph].get_outputs()]
        actual = sessions[graph].run(names, {n: feed[n] for n in inputs})
        for name, ref, got in zip(names, expected, actual, strict=True):
            label = f"{graph}:{name} (past {past})"
            diff, miss = _compare(label, ParityShape(batch, new), ref.numpy(), got, atol, rtol)
            worst = max(worst, diff)
            misses += [miss] if miss else []
            failed += [paths[graph]] if miss else []
    if misses:
        raise ExportMismatchError(failed[0], misses, atol, rtol)  # the message lists every graph
    return worst


def export_decoder_onnx(
    model: nn.Module,
    out_dir: Path | str,
    *,
    opset: int = DEFAULT_OPSET,
    atol: float = 1e-4,
    rtol: float = 1e-3,
) -> ExportedDecoder:
    """Export `model` to `out_dir/prefill.onnx` and `out_dir/decode.onnx` and gate both."""
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with eval_mode(model), eager_attention(model):
        prefill, decode = _export_both(model, out, opset)
        worst = _gate(model, {"prefill": prefill, "decode": decode}, atol, rtol)
    seconds = time.perf_counter() - start
    config: Any = model.config
    layers = int(config.num_hidden_layers)
    log.info("exported prefill and decode graphs in %.1f s (max |diff| %.3g)", seconds, worst)
    return ExportedDecoder(prefill, decode, opset, layers, worst, seconds)
