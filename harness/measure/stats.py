"""Summary statistics of latency samples and bootstrap 95% confidence intervals (median, speedup).

Pure numpy; seeded `numpy.random.Generator`, so the same samples and seed give the same numbers.
Never times anything and never drops outliers (it counts them).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

N_BOOT = 2000
CI_LEVEL = 0.95
_BOOT_CHUNK = 256  # resamples per numpy batch: bounds memory for long sample lists


@dataclass(frozen=True)
class LatencyStats:
    """Summary of latency samples in milliseconds; percentiles by linear interpolation.

    ``std_ms`` is the sample standard deviation (ddof=1; 0 for one sample); ``outliers`` counts
    samples outside Tukey's fences (1.5 IQR beyond the quartiles); the CI is a bootstrap
    percentile interval of the median.
    """

    count: int
    mean_ms: float
    median_ms: float
    p90_ms: float
    p99_ms: float
    std_ms: float
    iqr_ms: float
    min_ms: float
    max_ms: float
    outliers: int
    ci95_low_ms: float
    ci95_high_ms: float


def _as_samples(samples_ms: Sequence[float], what: str) -> np.ndarray:
    x = np.asarray(samples_ms, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{what}: need a non-empty 1-D list of samples, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{what}: samples contain NaN or infinity")
    return x


def _bootstrap_medians(x: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    medians = np.empty(n_boot)
    for lo in range(0, n_boot, _BOOT_CHUNK):
        hi = min(n_boot, lo + _BOOT_CHUNK)
        idx = rng.integers(0, x.size, size=(hi - lo, x.size))
        medians[lo:hi] = np.median(x[idx], axis=1)
    return medians


def _interval(values: np.ndarray) -> tuple[float, float]:
    tail = (1.0 - CI_LEVEL) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def summarize(samples_ms: Sequence[float], *, seed: int = 0, n_boot: int = N_BOOT) -> LatencyStats:
    """LatencyStats of ``samples_ms`` (raises ValueError when empty or not finite)."""
    x = _as_samples(samples_ms, "summarize")
    q1, median, q3, p90, p99 = np.percentile(x, [25, 50, 75, 90, 99])
    iqr = q3 - q1
    outliers = int(np.count_nonzero((x < q1 - 1.5 * iqr) | (x > q3 + 1.5 * iqr)))
    low, high = _interval(_bootstrap_medians(x, np.random.default_rng(seed), n_boot))
    return LatencyStats(
        count=int(x.size),
        mean_ms=float(x.mean()),
        median_ms=float(median),
        p90_ms=float(p90),
        p99_ms=float(p99),
        std_ms=float(x.std(ddof=1)) if x.size > 1 else 0.0,
        iqr_ms=float(iqr),
        min_ms=float(x.min()),
        max_ms=float(x.max()),
        outliers=outliers,
        ci95_low_ms=low,
        ci95_high_ms=high,
    )


def speedup_ci(
    dense_samples_ms: Sequence[float],
    pruned_samples_ms: Sequence[float],
    *,
    seed: int = 0,
    n_boot: int = N_BOOT,
) -> tuple[float, float, float]:
    """(point, low, high): median(dense) / median(pruned) with a bootstrap 95% CI."""
    dense = _as_samples(dense_samples_ms, "speedup_ci dense")
    pruned = _as_samples(pruned_samples_ms, "speedup_ci pruned")
    if np.median(pruned) <= 0:
        raise ValueError("speedup_ci: the pruned median is not positive")
    rng = np.random.default_rng(seed)
    ratios = _bootstrap_medians(dense, rng, n_boot) / _bootstrap_medians(pruned, rng, n_boot)
    low, high = _interval(ratios)
    return float(np.median(dense) / np.median(pruned)), low, high
