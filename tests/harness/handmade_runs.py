"""Hand-made `BenchmarkRun`s with known numbers, for report tests (summary, compare, plots)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from harness.measure.stats import LatencyStats
from harness.results.frame import measurements_frame
from harness.results.records import BenchmarkRun, Measurement, PrunePoint

RATIOS = (1.0, 0.6, 0.3)


def stats(median_ms: float) -> LatencyStats:
    return LatencyStats(
        count=10,
        mean_ms=median_ms,
        median_ms=median_ms,
        p90_ms=median_ms * 1.1,
        p99_ms=median_ms * 1.2,
        std_ms=0.1,
        iqr_ms=0.2,
        min_ms=median_ms * 0.9,
        max_ms=median_ms * 1.3,
        outliers=0,
        ci95_low_ms=median_ms * 0.95,
        ci95_high_ms=median_ms * 1.05,
    )


def measurement(
    ratio: float,
    backend: str,
    batch: int = 1,
    dense_ms: float = 10.0,
    error: str | None = None,
    method: str = "kprune",
) -> Measurement:
    """Latency = dense_ms * ratio (ORT twice as fast); metric falls as the ratio falls."""
    method = "dense" if ratio == 1.0 else method
    median = dense_ms * ratio * (0.5 if backend == "onnxruntime" else 1.0) * batch
    speedup = None if ratio == 1.0 else 1.0 / ratio
    return Measurement(
        method=method,
        target_flops_ratio=ratio,
        achieved_flops_ratio=ratio,
        params=1000,
        backend=backend,
        variant="default" if backend == "onnxruntime" else "eager",
        device="cpu",
        dtype="float32",
        batch_size=batch,
        seq_len=128,
        threads=1,
        latency=None if error else stats(median),
        samples_ms=[] if error else [median] * 10,
        speedup_vs_dense=None if error else (1.0 if ratio == 1.0 else speedup),
        speedup_ci95_low=None if speedup is None else speedup * 0.9,
        speedup_ci95_high=None if speedup is None else speedup * 1.1,
        ideal_speedup=1.0 / ratio,
        metric_name="accuracy",
        metric_value=0.5 + 0.4 * ratio,
        error=error,
    )


def point(ratio: float, method: str = "kprune") -> PrunePoint:
    method = "dense" if ratio == 1.0 else method
    heads = [max(1, round(4 * ratio)), max(0, round(4 * ratio) - 1)]
    return PrunePoint(
        method=method,
        target_flops_ratio=ratio,
        achieved_flops_ratio=ratio,
        params=1000,
        heads_per_layer=heads,
        neurons_per_layer=[round(64 * ratio), round(48 * ratio)],
        metric_name="accuracy",
        metric_value=0.5 + 0.4 * ratio,
    )


def make_run(
    name: str = "handmade",
    machine: str = "m-test",
    dense_ms: float = 10.0,
    batches=(1,),
    methods: Sequence[str] = ("kprune",),
) -> BenchmarkRun:
    """Dense once, then every method at the pruned RATIOS (same numbers for every method)."""
    trials = [(1.0, "dense")] + [(r, method) for method in methods for r in RATIOS[1:]]
    rows = [
        measurement(r, backend, batch, dense_ms, method=method)
        for r, method in trials
        for backend in ("torch", "onnxruntime")
        for batch in batches
    ]
    return BenchmarkRun(
        config={"name": name},
        environment={"machine_id": machine, "commit": "abcdef0123", "dirty": False},
        points=[point(r, method) for r, method in trials],
        measurements=rows,
    )


def frame_of(*runs: BenchmarkRun) -> pd.DataFrame:
    """The measurements frame report functions take, of in-memory runs."""
    return measurements_frame([(None, run) for run in runs])


def rows_frame(rows: Sequence[Measurement]) -> pd.DataFrame:
    """The measurements frame of loose rows (wrapped in one run)."""
    return frame_of(BenchmarkRun(config={"name": "rows"}, environment={}, measurements=list(rows)))
