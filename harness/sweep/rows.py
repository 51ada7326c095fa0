"""Turn one point's model, metric and raw timings into `PrunePoint` and `Measurement` records:
latency statistics, speedup vs the dense trial of the same runtime/batch/seq with its bootstrap
CI, and the ideal 1/ratio. Pure: no files, devices or timing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from harness.measure.evaluation import MetricResult
from harness.sweep.plan import EXPORTED_BACKENDS, Point, Trial
from harness.results.records import Measurement, PrunePoint
from harness.sweep.stages import PointModel
from harness.measure.stats import speedup_ci, summarize
from harness.sweep.timing import TrialTiming

log = logging.getLogger(__name__)


def _speedup(
    trial: Trial, timing: TrialTiming, samples_ms: list[float], dense: Mapping[str, list[float]]
) -> tuple[float | None, float | None, float | None]:
    """(speedup, ci low, ci high) vs the dense twin timed interleaved with this trial, else vs
    the stored dense samples; the dense point is 1.0 by definition (no interval)."""
    if trial.point.is_dense:
        return 1.0, None, None
    twin = timing.dense.samples_ms if timing.dense is not None else None
    reference = twin or dense.get(trial.dense_key)
    if not reference:
        log.warning("no dense timing for %s: speedup not computed", trial.key)
        return None, None, None
    return speedup_ci(reference, samples_ms)


def _export_seconds(exports: Mapping[str, Any], trial: Trial) -> float | None:
    if trial.runtime.backend not in EXPORTED_BACKENDS:
        return None
    exported = exports.get(trial.runtime.dtype)
    return float(exported.seconds) if exported is not None else None


def measurement(
    trial: Trial,
    built: PointModel,
    metric: MetricResult | None,
    timing: TrialTiming,
    dense: Mapping[str, list[float]],
    exports: Mapping[str, Any],
) -> Measurement:
    """The record of one trial (an error row when its timing failed under keep-going)."""
    r = trial.runtime
    base = Measurement(
        method=trial.point.method,
        target_flops_ratio=trial.point.target_flops_ratio,
        achieved_flops_ratio=built.achieved_flops_ratio,
        params=built.params,
        backend=r.backend,
        variant=r.variant,
        device=r.device,
        dtype=r.dtype,
        batch_size=trial.batch_size,
        seq_len=trial.seq_len,
        threads=timing.threads,
        ideal_speedup=1.0 / built.achieved_flops_ratio,
        metric_name=metric.name if metric else None,
        metric_value=float(metric.value) if metric else None,
        prune_seconds=built.prune_seconds,
        export_seconds=_export_seconds(exports, trial),
    )
    if timing.result is None:
        return dataclasses.replace(base, error=timing.error or "not timed")
    samples = timing.result.samples_ms
    speedup, low, high = _speedup(trial, timing, samples, dense)
    return dataclasses.replace(
        base,
        latency=summarize(samples),
        samples_ms=samples,
        first_call_ms=timing.result.first_call_s * 1e3,
        speedup_vs_dense=speedup,
        speedup_ci95_low=low,
        speedup_ci95_high=high,
    )


def point_record(built: PointModel, metric: MetricResult | None) -> PrunePoint:
    """What the point's model kept and scored."""
    return PrunePoint(
        method=built.point.method,
        target_flops_ratio=built.point.target_flops_ratio,
        achieved_flops_ratio=built.achieved_flops_ratio,
        params=built.params,
        heads_per_layer=built.heads_per_layer,
        neurons_per_layer=built.neurons_per_layer,
        metric_name=metric.name if metric else None,
        metric_value=float(metric.value) if metric else None,
        prune_seconds=built.prune_seconds,
        sublayers=built.sublayers,
        untuned_sublayers=built.untuned_sublayers,
    )


def failed_point(
    point: Point, trials: Sequence[Trial], error: BaseException
) -> tuple[PrunePoint, list[Measurement]]:
    """Error records for a point whose build, export or evaluation failed (keep-going); zeros
    stand for the unknown sizes and every consumer checks `error` first."""
    text = f"{type(error).__name__}: {error}"
    record = PrunePoint(
        method=point.method,
        target_flops_ratio=point.target_flops_ratio,
        achieved_flops_ratio=0.0,
        params=0,
        heads_per_layer=[],
        neurons_per_layer=[],
        error=text,
    )
    rows = [
        Measurement(
            method=point.method,
            target_flops_ratio=point.target_flops_ratio,
            achieved_flops_ratio=0.0,
            params=0,
            backend=t.runtime.backend,
            variant=t.runtime.variant,
            device=t.runtime.device,
            dtype=t.runtime.dtype,
            batch_size=t.batch_size,
            seq_len=t.seq_len,
            threads=t.runtime.threads,
            error=text,
        )
        for t in trials
    ]
    return record, rows
