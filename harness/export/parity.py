"""Parity gate: an ONNX graph must reproduce a reference predictor on several input shapes.

Collects every mismatching output over all shapes before raising `ExportMismatchError`; never
edits the graph or the model. Used by export (vs PyTorch) and fusion (vs PyTorch or unfused).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import MeasuredFailure
from harness.export.io_names import dummy_batch
from harness.runtimes.base import Predictor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParityShape:
    """One probe: batch size, sequence length, how many trailing rows are half padding."""

    batch_size: int
    seq_len: int
    padded_rows: int = 0

    def describe(self) -> str:
        return f"batch={self.batch_size} seq={self.seq_len} padded_rows={self.padded_rows}"


@dataclass(frozen=True)
class Mismatch:
    """One output that differs on one probe (or is missing / has another shape)."""

    output: str
    shape: ParityShape
    expected_shape: tuple[int, ...]
    actual_shape: tuple[int, ...] | None
    max_abs_diff: float

    def describe(self) -> str:
        got = "missing" if self.actual_shape is None else f"shape {self.actual_shape}"
        return (
            f"{self.output} [{self.shape.describe()}]: expected shape {self.expected_shape}, "
            f"got {got}, max |diff| = {self.max_abs_diff:.3g}"
        )


class ExportMismatchError(MeasuredFailure):
    """The exported graph disagrees with its reference; lists every mismatch."""

    def __init__(self, path: Path, mismatches: Sequence[Mismatch], atol: float, rtol: float):
        self.path = path
        self.mismatches = tuple(mismatches)
        lines = "\n  ".join(m.describe() for m in self.mismatches)
        super().__init__(
            f"{path} fails the parity gate (atol={atol:g}, rtol={rtol:g}) on "
            f"{len(self.mismatches)} output(s):\n  {lines}\n"
            "Check the model is in eval mode and exports with the legacy exporter; do not time "
            "or publish this graph."
        )


def parity_shapes(batch_sizes: Iterable[int], seq_lens: Iterable[int]) -> tuple[ParityShape, ...]:
    """Every (batch, seq) unpadded, plus a variant whose last row is half padding."""
    shapes = []
    for batch in batch_sizes:
        for seq in seq_lens:
            shapes += [ParityShape(batch, seq, 0), ParityShape(batch, seq, 1)]
    return tuple(shapes)


def _compare(
    name: str, probe: ParityShape, ref: np.ndarray, got: np.ndarray | None, atol: float, rtol: float
) -> tuple[float, Mismatch | None]:
    if got is None or got.shape != ref.shape:
        actual = None if got is None else tuple(got.shape)
        return float("inf"), Mismatch(name, probe, tuple(ref.shape), actual, float("inf"))
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    max_diff = float(np.nanmax(diff)) if np.isfinite(diff).all() else float("inf")
    if np.allclose(got, ref, atol=atol, rtol=rtol) and np.isfinite(max_diff):
        return max_diff, None
    return max_diff, Mismatch(name, probe, tuple(ref.shape), tuple(got.shape), max_diff)


def check_parity(
    reference: Predictor,
    candidate: Predictor,
    *,
    path: Path,
    shapes: Sequence[ParityShape],
    input_names: Sequence[str],
    vocab_size: int,
    atol: float,
    rtol: float,
) -> float:
    """Max |diff| over all outputs and shapes; raises `ExportMismatchError` listing all misses."""
    mismatches: list[Mismatch] = []
    worst = 0.0
    for seed, probe in enumerate(shapes):
        batch = dummy_batch(
            probe.batch_size,
            probe.seq_len,
            vocab_size=vocab_size,
            input_names=input_names,
            pad_last_rows=probe.padded_rows,
            seed=seed,
        )
        expected, actual = reference(batch), candidate(batch)
        for name, ref in expected.items():
            max_diff, miss = _compare(name, probe, ref, actual.get(name), atol, rtol)
            worst = max(worst, max_diff)
            if miss is not None:
                mismatches.append(miss)
    if mismatches:
        raise ExportMismatchError(path, mismatches, atol, rtol)
    log.info("parity ok for %s on %d shapes: max |diff| %.3g", path, len(shapes), worst)
    return worst
