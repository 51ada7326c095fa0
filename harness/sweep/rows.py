"""Turn one point's record and raw timings into `Measurement` rows: latency statistics, speedup vs
the dense trial of the same runtime/batch/seq with its bootstrap CI, and the ideal 1/ratio; and
error records for a point that failed. Pure: no files, devices or timing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence

from harness.export.io_names import padded_token_fraction
from harness.measure.stats import speedup_ci, summarize
from harness.results.records import UNREACHABLE, Measurement, PrunePoint
from harness.runtimes.base import scoring_spec
from harness.sweep.types import ArtifactKey, Point, Trial, TrialTiming

log = logging.getLogger(__name__)


def _dense_samples(
    trial: Trial, timing: TrialTiming, stored: Mapping[str, list[float]]
) -> list[float]:
    """The interleaved dense twin's samples, else the stored dense trial's (resumed sweeps)."""
    if timing.dense is not None:
        return timing.dense.samples_ms
    return list(stored.get(trial.dense_key, []))


def _speedup(
    trial: Trial, samples_ms: list[float], dense_ms: list[float]
) -> tuple[float | None, float | None, float | None]:
    """(speedup, ci low, ci high); the dense point is 1.0 by definition (no interval)."""
    if trial.point.is_dense:
        return 1.0, None, None
    if not dense_ms:
        log.warning("no dense timing for %s: speedup not computed", trial.key)
        return None, None, None
    return speedup_ci(dense_ms, samples_ms)


def _metric(trial: Trial, record: PrunePoint) -> tuple[float | None, str | None]:
    """(value, what scored it): the score of the runtime that computes like this trial's (same
    backend, device, dtype and graph) when the point was scored per runtime, else the point's."""
    scoring = scoring_spec(trial.runtime).name
    if scoring in record.metrics_by_runtime:
        return record.metrics_by_runtime[scoring], scoring
    return record.metric_value, record.metric_source


def _base_row(trial: Trial, record: PrunePoint) -> Measurement:
    r = trial.runtime
    ratio = record.achieved_flops_ratio
    metric, source = _metric(trial, record)
    return Measurement(
        method=trial.point.method,
        target_flops_ratio=trial.point.target_flops_ratio,
        achieved_flops_ratio=ratio,
        params=record.params,
        backend=r.backend,
        variant=r.variant,
        device=r.device,
        dtype=r.dtype,
        batch_size=trial.batch_size,
        seq_len=trial.seq_len,
        seed=trial.point.seed,
        threads=r.threads,
        ideal_speedup=1.0 / ratio if ratio > 0 else None,
        metric_name=record.metric_name,
        metric_value=metric,
        metric_source=source,
        prune_seconds=record.prune_seconds,
        budget=record.budget,
        achieved_params_ratio=record.achieved_params_ratio,
        error=record.error,
    )


def _padded_fraction(trial: Trial, pad_last_rows: int | None) -> float | None:
    if pad_last_rows is None:
        return None
    return padded_token_fraction(trial.batch_size, trial.seq_len, pad_last_rows)


def measurement(
    trial: Trial,
    record: PrunePoint,
    timing: TrialTiming,
    stored_dense: Mapping[str, list[float]],
    export_seconds: Mapping[ArtifactKey, float],
    fused_ops: Mapping[ArtifactKey, Mapping[str, int]] | None = None,
) -> Measurement:
    """The record of one trial (an error row when its timing failed under keep-going)."""
    base = dataclasses.replace(
        _base_row(trial, record),
        export_seconds=export_seconds.get(trial.artifact),
        fused_ops=dict((fused_ops or {}).get(trial.artifact) or {}) or None,
        state_before=timing.state_before,
        state_after=timing.state_after,
        pad_last_rows=timing.pad_last_rows,
        padded_token_fraction=_padded_fraction(trial, timing.pad_last_rows),
    )
    if timing.result is None:
        return dataclasses.replace(base, error=timing.error or "not timed")
    samples = timing.result.samples_ms
    dense = [] if trial.point.is_dense else _dense_samples(trial, timing, stored_dense)
    speedup, low, high = _speedup(trial, samples, dense)
    return dataclasses.replace(
        base,
        threads=timing.result.threads,
        timing_pid=timing.result.pid,
        latency=summarize(samples),
        samples_ms=samples,
        dense_samples_ms=dense,
        first_call_ms=timing.result.first_call_s * 1e3,
        speedup_vs_dense=speedup,
        speedup_ci95_low=low,
        speedup_ci95_high=high,
    )


def unreachable(error: BaseException) -> bool:
    """Whether `error` says the method cannot reach the point's ratio."""
    from kprune import BudgetUnreachableError  # lazily: the rows of stored runs need no torch

    return isinstance(error, BudgetUnreachableError)


def failed_point(
    point: Point, trials: Sequence[Trial], error: BaseException, budget: str = "flops"
) -> tuple[PrunePoint, list[Measurement]]:
    """Error records for a point whose build, export or evaluation failed (keep-going); zeros
    stand for the unknown sizes and every consumer checks `error` first."""
    prefix = UNREACHABLE if unreachable(error) else type(error).__name__
    record = PrunePoint(
        method=point.method,
        target_flops_ratio=point.target_flops_ratio,
        seed=point.seed,
        budget=budget,
        achieved_flops_ratio=0.0,
        params=0,
        heads_per_layer=[],
        neurons_per_layer=[],
        error=f"{prefix}: {error}",
    )
    return record, [_base_row(trial, record) for trial in trials]
