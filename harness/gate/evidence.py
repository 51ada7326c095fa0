"""What one side of the gate (baseline or candidate) knows: per pruned trial its speedup over
dense, per point its metric, and the fingerprint it was measured under; read from a stored run
file (a sweep's or a gate's `gate_run.json`) or from a pytest-benchmark JSON file.

Reads files only; a file that cannot be read is a `ResultsFileError` (exit 2) naming it.
"""

from __future__ import annotations

import json
import logging
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.gate.paired import PairedEstimate
from harness.results.keys import DENSE_METHOD, measurement_key, point_key
from harness.results.records import BenchmarkRun, ResultsFileError, run_from_dict

log = logging.getLogger(__name__)

PYTEST_BENCHMARK_KEY = "kprune"
"""The `extra_info` entry the pytest plugin writes per benchmark."""


@dataclass(frozen=True)
class TrialEvidence:
    """One pruned trial's speedup: the first measure and, after a confirmation, the re-measure."""

    key: str
    device: str
    first: PairedEstimate | None
    confirm: PairedEstimate | None = None
    dense_p50_ms: float | None = None
    pruned_p50_ms: float | None = None
    error: str | None = None

    @property
    def final(self) -> PairedEstimate | None:
        return self.confirm or self.first


@dataclass(frozen=True)
class PointEvidence:
    """One model's task metric, keyed by (method, ratio, seed)."""

    key: str
    metric_name: str | None
    metric_value: float | None
    error: str | None = None


@dataclass(frozen=True)
class Side:
    source: str
    environment: Mapping[str, Any]
    trials: Mapping[str, TrialEvidence] = field(default_factory=dict)
    points: Mapping[str, PointEvidence] = field(default_factory=dict)
    remeasurable: bool = False
    """Whether the gate re-times this side's artifacts (a confirmation is possible)."""


def accuracy_key(method: str, target_flops_ratio: float, seed: Any) -> str:
    """`kprune@0.5|seed=0`: metrics are compared at the same (method, ratio, seed)."""
    return f"{point_key(method, target_flops_ratio)}|seed={seed}"


def _stored_estimate(m: Any) -> PairedEstimate | None:
    if m.speedup_vs_dense is None:
        return None
    low = m.speedup_ci95_low if m.speedup_ci95_low is not None else m.speedup_vs_dense
    high = m.speedup_ci95_high if m.speedup_ci95_high is not None else m.speedup_vs_dense
    return PairedEstimate(m.speedup_vs_dense, low, high, confidence=0.95, rounds=0)


def _p50(samples: list[float]) -> float | None:
    return float(statistics.median(samples)) if samples else None


def trial_from_measurement(m: Any) -> TrialEvidence:
    """A stored (pruned) measurement as evidence; an error row or a missing speedup is an error."""
    estimate = None if m.error else _stored_estimate(m)
    error = m.error or (None if estimate is not None else "no speedup stored")
    return TrialEvidence(
        key=measurement_key(m),
        device=m.device,
        first=estimate,
        dense_p50_ms=_p50(list(m.dense_samples_ms)),
        pruned_p50_ms=m.latency.median_ms if m.latency else None,
        error=error,
    )


def side_from_run(run: BenchmarkRun, source: str, remeasurable: bool = False) -> Side:
    """The evidence in a stored run: its pruned trials and its points' metrics."""
    trials = {
        measurement_key(m): trial_from_measurement(m)
        for m in run.measurements
        if m.method != DENSE_METHOD
    }
    seed_default = run.config.get("seed", 0)
    points = {}
    for p in run.points:
        key = accuracy_key(
            p.method, p.target_flops_ratio, p.method_config.get("seed", seed_default)
        )
        points[key] = PointEvidence(key, p.metric_name, p.metric_value, p.error)
    return Side(source, dict(run.environment), trials, points, remeasurable)


def _estimate_from(info: Mapping[str, Any]) -> PairedEstimate:
    return PairedEstimate(
        speedup=float(info["speedup"]),
        low=float(info["ci_low"]),
        high=float(info["ci_high"]),
        confidence=float(info["confidence"]),
        rounds=int(info["rounds"]),
        log_ratios=tuple(float(v) for v in info.get("log_ratios", ())),
    )


def side_from_pytest_benchmark(doc: Mapping[str, Any], source: str) -> Side:
    """The kprune trials of a pytest-benchmark JSON file (`extra_info["kprune"]` per bench)."""
    trials: dict[str, TrialEvidence] = {}
    points: dict[str, PointEvidence] = {}
    environment: dict[str, Any] = {}
    for bench in doc.get("benchmarks", []):
        info = (bench.get("extra_info") or {}).get(PYTEST_BENCHMARK_KEY)
        if not info or "speedup" not in info:
            continue  # not a kprune trial, or measured with the benchmark disabled
        key = str(info["trial_key"])
        trials[key] = TrialEvidence(
            key=key,
            device=str(info["device"]),
            first=_estimate_from(info),
            dense_p50_ms=info.get("dense_p50_ms"),
            pruned_p50_ms=info.get("pruned_p50_ms"),
        )
        if info.get("metric_value") is not None:
            point = accuracy_key(info["method"], info["target_flops_ratio"], info.get("seed"))
            points[point] = PointEvidence(point, info.get("metric_name"), info["metric_value"])
        environment = environment or dict(info.get("fingerprint") or {})
    return Side(source, environment, trials, points)


def read_side(path: Path, remeasurable: bool = False) -> Side:
    """A run file or a pytest-benchmark JSON file as gate evidence."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as problem:
        raise ResultsFileError(path, f"cannot be read ({problem})") from problem
    except (json.JSONDecodeError, UnicodeDecodeError) as problem:
        raise ResultsFileError(path, f"is not valid JSON ({problem})") from problem
    if isinstance(doc, Mapping) and "benchmarks" in doc and "measurements" not in doc:
        try:
            return side_from_pytest_benchmark(doc, str(path))
        except (KeyError, TypeError, ValueError) as problem:
            raise ResultsFileError(path, f"malformed kprune extra_info ({problem})") from problem
    return side_from_run(run_from_dict(doc, path, path.stem), str(path), remeasurable)
