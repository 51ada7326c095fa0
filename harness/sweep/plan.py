"""Expand a `BenchmarkConfig` into prune points and timing trials, with stable keys (pure).

A point is one (method, kept-FLOPs ratio) model: pruned once, reused by every trial at that
point. Ratio 1.0 is the dense reference, planned once as method "dense" (never pruned).
The keys are what `--resume` matches against stored measurements.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.config.schema import DENSE_METHOD, BenchmarkConfig
from harness.runtimes.base import RuntimeSpec

log = logging.getLogger(__name__)


def ratio_text(ratio: float) -> str:
    """A ratio as it appears in keys: `0.5`, `1.0`, `0.333333` (6 decimals at most)."""
    return repr(round(float(ratio), 6))


def point_key(method: str, target_flops_ratio: float) -> str:
    return f"{method}@{ratio_text(target_flops_ratio)}"


def trial_key(
    method: str,
    target_flops_ratio: float,
    backend: str,
    variant: str,
    device: str,
    dtype: str,
    batch_size: int,
    seq_len: int,
) -> str:
    """`kprune@0.5|torch/eager/cpu/float32|b8|s128`; threads are not part of the key."""
    runtime = f"{backend}/{variant}/{device}/{dtype}"
    return f"{point_key(method, target_flops_ratio)}|{runtime}|b{batch_size}|s{seq_len}"


@dataclass(frozen=True)
class Point:
    """One model of the sweep: `method` at `target_flops_ratio` (kept/original FLOPs)."""

    method: str
    target_flops_ratio: float

    @property
    def key(self) -> str:
        return point_key(self.method, self.target_flops_ratio)

    @property
    def is_dense(self) -> bool:
        return self.method == DENSE_METHOD


@dataclass(frozen=True)
class Trial:
    """One timing: a point's model on one runtime at one (batch size, sequence length)."""

    point: Point
    runtime: RuntimeSpec
    batch_size: int
    seq_len: int

    @property
    def key(self) -> str:
        r = self.runtime
        p = self.point
        return trial_key(
            p.method,
            p.target_flops_ratio,
            r.backend,
            r.variant,
            r.device,
            r.dtype,
            self.batch_size,
            self.seq_len,
        )

    @property
    def dense_key(self) -> str:
        """Key of the dense trial this one is compared with (same runtime, batch and seq)."""
        r = self.runtime
        return trial_key(
            DENSE_METHOD,
            1.0,
            r.backend,
            r.variant,
            r.device,
            r.dtype,
            self.batch_size,
            self.seq_len,
        )


def measurement_key(measurement: Any) -> str:
    """The trial key of a stored `records.Measurement` (attribute names per docs/design.md)."""
    m = measurement
    return trial_key(
        m.method,
        m.target_flops_ratio,
        m.backend,
        m.variant,
        m.device,
        m.dtype,
        m.batch_size,
        m.seq_len,
    )


def expand_points(config: BenchmarkConfig) -> list[Point]:
    """Dense first (when 1.0 is swept), then each method at each ratio below 1.0, config order."""
    dense = [Point(DENSE_METHOD, 1.0)] if 1.0 in config.flops_ratios else []
    pruned = [
        Point(method, ratio)
        for method in config.methods
        for ratio in config.flops_ratios
        if ratio < 1.0
    ]
    return dense + pruned


def expand_trials(config: BenchmarkConfig) -> list[Trial]:
    """Cross product point x runtime x batch size x sequence length, grouped by point."""
    return [
        Trial(point, runtime, batch_size, seq_len)
        for point in expand_points(config)
        for runtime in config.runtimes
        for batch_size in config.batch_sizes
        for seq_len in config.seq_lens
    ]


def trials_by_point(trials: Iterable[Trial]) -> dict[Point, list[Trial]]:
    """Trials grouped by their point, in first-seen order."""
    groups: dict[Point, list[Trial]] = {}
    for trial in trials:
        groups.setdefault(trial.point, []).append(trial)
    return groups


EXPORTED_BACKENDS = frozenset({"onnxruntime"})
"""Backends that run the exported ONNX graph rather than the torch module."""


def needs_onnx(trials: Iterable[Trial]) -> bool:
    """Whether any trial runs on an exported graph (so the point's model must be exported)."""
    return any(trial.runtime.backend in EXPORTED_BACKENDS for trial in trials)


def describe_plan(config: BenchmarkConfig) -> str:
    """A human-readable plan (what `sweep --dry-run` prints)."""
    trials = expand_trials(config)
    groups = trials_by_point(trials)
    runtimes = ", ".join(runtime.name for runtime in config.runtimes)
    m = config.model
    lines = [
        f"config {config.name}: {config.description}".rstrip(": "),
        "model: " + " ".join(filter(None, (m.source, m.name, m.description))),
        f"task: {config.task.name}; methods: {', '.join(config.methods)}",
        f"runtimes: {runtimes}; batch sizes: {list(config.batch_sizes)}; "
        f"seq lens: {list(config.seq_lens)}",
        f"{len(groups)} points, {len(trials)} trials:",
    ]
    lines += [f"  {point.key:<16} {len(group)} trials" for point, group in groups.items()]
    return "\n".join(lines)
