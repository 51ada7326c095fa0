"""Stored runs for study-report tests: a tiny encoder (d=8, d_h=4, 2 heads, 4 neurons per
layer, 2 layers) whose parameter counts follow its structure, timed at seq 16 with speedups that
follow Amdahl's law exactly for a chosen fixed share."""

from __future__ import annotations

from typing import Any

from harness.measure.stats import LatencyStats
from harness.report.predicted import amdahl_speedup
from harness.results.records import BenchmarkRun, Measurement, PrunePoint

D, D_H = 8, 4
BASE_PARAMS = 5000
STRUCTURES = {1.0: ([2, 2], [4, 4]), 0.7: ([2, 1], [4, 0]), 0.3: ([1, 0], [2, 1])}
"""target ratio -> (heads, neurons) per layer."""
SEQ = 16
HAND_KEPT = {1.0: 1.0, 0.7: 26624 / 36864, 0.3: 9728 / 36864}
"""Kept FLOPs at seq 16 by hand: F_head = 8·16·8·4 + 4·16²·4 = 8192, F_neuron = 4·16·8 = 512;
dense 4·8192 + 8·512 = 36864; 0.7: 3·8192 + 4·512 = 26624; 0.3: 8192 + 3·512 = 9728."""


def params(heads: list[int], neurons: list[int]) -> int:
    return BASE_PARAMS + sum(heads) * (4 * D * D_H + 3 * D_H) + sum(neurons) * (2 * D + 1)


def _stats(median_ms: float) -> LatencyStats:
    return LatencyStats(
        count=12,
        mean_ms=median_ms,
        median_ms=median_ms,
        p90_ms=median_ms,
        p99_ms=median_ms,
        std_ms=0.0,
        iqr_ms=0.0,
        min_ms=median_ms,
        max_ms=median_ms,
        outliers=0,
        ci95_low_ms=median_ms * 0.98,
        ci95_high_ms=median_ms * 1.02,
    )


def _row(
    ratio: float, backend: str, device: str, threads: int, dense_ms: float, share: float, batch: int
) -> Measurement:
    speedup = amdahl_speedup(share, HAND_KEPT[ratio])
    heads, neurons = STRUCTURES[ratio]
    return Measurement(
        method="dense" if ratio == 1.0 else "kprune",
        target_flops_ratio=ratio,
        achieved_flops_ratio=ratio,
        params=params(heads, neurons),
        backend=backend,
        variant="eager" if backend == "torch" else "default",
        device=device,
        dtype="float32",
        batch_size=batch,
        seq_len=SEQ,
        threads=threads,
        latency=_stats(dense_ms * batch / speedup),
        samples_ms=[dense_ms / speedup] * 12,
        speedup_vs_dense=speedup,
        speedup_ci95_low=None if ratio == 1.0 else speedup * 0.97,
        speedup_ci95_high=None if ratio == 1.0 else speedup * 1.03,
        ideal_speedup=1 / ratio,
        metric_name="accuracy",
        metric_value=0.5 + 0.4 * ratio - (0.01 if backend == "onnxruntime" else 0.0),
    )


def environment(machine: str, threads_env: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "machine_id": machine,
        "commit": "abcdef0123",
        "dirty": False,
        "python": "3.11.7",
        "versions": {"torch": "2.13.0", "onnxruntime": "1.31.1"},
        "cpu_model": "Test CPU",
        "cpu_policy": {
            "governors": ["performance"],
            "affinity": [0, 1],
            "thread_environment": {"OMP_NUM_THREADS": threads_env} if threads_env else {},
        },
        **extra,
    }


def study_run(
    name: str,
    machine: str = "m-a",
    threads: int = 1,
    device: str = "cpu",
    dense_ms: float = 10.0,
    share: float = 0.1,
    **env: Any,
) -> BenchmarkRun:
    """Dense, kprune 0.7 and 0.3, torch and ORT, batch 1 and 4, at seq 16."""
    rows = [
        _row(r, backend, device, threads, dense_ms, share, batch)
        for r in STRUCTURES
        for backend in ("torch", "onnxruntime")
        for batch in (1, 4)
    ]
    points = [
        PrunePoint(
            method="dense" if r == 1.0 else "kprune",
            target_flops_ratio=r,
            achieved_flops_ratio=r,
            params=params(*STRUCTURES[r]),
            heads_per_layer=STRUCTURES[r][0],
            neurons_per_layer=STRUCTURES[r][1],
            metric_name="accuracy",
            metric_value=0.5 + 0.4 * r,
        )
        for r in STRUCTURES
    ]
    return BenchmarkRun(
        config={"name": name, "task": {"onnx_metric_tolerance": 0.005}},
        environment=environment(machine, **env),
        points=points,
        measurements=rows,
    )
