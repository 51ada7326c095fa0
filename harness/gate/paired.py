"""The speedup estimate of paired rounds and its paired bootstrap CI; the suite's geometric mean.

A round's log-ratio is log(median dense block / median pruned block); the estimate is exp of the
median log-ratio, and the bootstrap resamples whole rounds (pairs), never single calls, so what
drifts between rounds stays out of the interval. Pure numpy, seeded: same inputs, same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOT_SEED = 0
"""Seed of every gate bootstrap (the result must not depend on when the gate ran)."""
_BOOT_CHUNK = 512


@dataclass(frozen=True)
class PairedEstimate:
    """Speedup (dense/pruned) = exp(median per-round log-ratio), with a two-sided CI."""

    speedup: float
    low: float
    high: float
    confidence: float
    rounds: int
    log_ratios: tuple[float, ...] = ()

    @property
    def half_width_ratio(self) -> float:
        """Half the CI's width relative to the estimate (0.03 = +/-3%)."""
        return (self.high - self.low) / (2.0 * self.speedup)


def _checked(log_ratios: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(log_ratios, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{what}: need a non-empty 1-D list of per-round log-ratios")
    if not np.isfinite(x).all():
        raise ValueError(f"{what}: log-ratios contain NaN or infinity")
    return x


def bootstrap_medians(
    log_ratios: Sequence[float] | np.ndarray, n_boot: int, seed: int
) -> np.ndarray:
    """`n_boot` medians of rounds resampled with replacement (`[n_boot]` float64)."""
    x = _checked(log_ratios, "bootstrap_medians")
    rng = np.random.default_rng(seed)
    medians = np.empty(n_boot)
    for lo in range(0, n_boot, _BOOT_CHUNK):
        hi = min(n_boot, lo + _BOOT_CHUNK)
        idx = rng.integers(0, x.size, size=(hi - lo, x.size))
        medians[lo:hi] = np.median(x[idx], axis=1)
    return medians


def _tails(values: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def paired_estimate(
    log_ratios: Sequence[float], confidence: float, n_boot: int, seed: int = BOOT_SEED
) -> PairedEstimate:
    """The estimate of per-round log-ratios with its percentile bootstrap CI over rounds."""
    x = _checked(log_ratios, "paired_estimate")
    low, high = _tails(bootstrap_medians(x, n_boot, seed), confidence)
    return PairedEstimate(
        speedup=math.exp(float(np.median(x))),
        low=math.exp(low),
        high=math.exp(high),
        confidence=confidence,
        rounds=int(x.size),
        log_ratios=tuple(float(v) for v in x),
    )


def suite_estimate(
    trials: Sequence[tuple[Sequence[float], float]],
    confidence: float,
    n_boot: int,
    seed: int = BOOT_SEED,
) -> PairedEstimate:
    """Geometric mean over trials of (candidate speedup / baseline speedup), with a CI.

    `trials` holds (per-round log-ratios, baseline speedup) per trial. Trials are measured apart,
    so each bootstrap replicate resamples every trial's rounds on its own and averages the
    log-ratios to the baselines; `rounds` is the number of trials.
    """
    if not trials:
        raise ValueError("suite_estimate: no trials")
    relative = np.zeros(n_boot)
    point = 0.0
    for index, (log_ratios, baseline) in enumerate(trials):
        if not baseline > 0:
            raise ValueError(f"suite_estimate: baseline speedup {baseline} is not positive")
        x = _checked(log_ratios, "suite_estimate")
        relative += bootstrap_medians(x, n_boot, seed + index) - math.log(baseline)
        point += float(np.median(x)) - math.log(baseline)
    relative /= len(trials)
    low, high = _tails(relative, confidence)
    return PairedEstimate(
        speedup=math.exp(point / len(trials)),
        low=math.exp(low),
        high=math.exp(high),
        confidence=confidence,
        rounds=len(trials),
    )
