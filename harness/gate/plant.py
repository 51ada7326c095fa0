"""A planted regression for testing the gate itself: with `KPRUNE_BENCH_GATE_PLANT_SLOWDOWN=0.25`
every timed call of a candidate's pruned model also runs extra matrix products worth 25% of its
warm median time, so its speedup drops to 1/1.25 of what it is.

Test use only: the gate logs a warning and records the ratio in gate.json when it is set.
"""

from __future__ import annotations

import logging
import os
import statistics
import time

import numpy as np

from harness.errors import UsageError
from harness.measure.clock import Timed, time_call

log = logging.getLogger(__name__)

PLANT_ENV = "KPRUNE_BENCH_GATE_PLANT_SLOWDOWN"
_SIDE = 64  # a 64x64 float32 product runs on one core in microseconds (fine-grained sizing)
_CALIBRATION_CALLS = 7
_FEEDBACK_STEPS = 4


def planted_ratio() -> float:
    """The slowdown ratio asked for in the environment (0.0 when unset)."""
    raw = os.environ.get(PLANT_ENV, "").strip()
    if not raw:
        return 0.0
    try:
        ratio = float(raw)
    except ValueError as error:
        raise UsageError(
            f"{PLANT_ENV}={raw!r} is not a number; unset it or give e.g. 0.25"
        ) from error
    if not 0.0 <= ratio <= 10.0:
        raise UsageError(f"{PLANT_ENV}={raw!r} must be in [0, 10]")
    return ratio


def _with_products(timed: Timed, matrix: np.ndarray, products: int) -> Timed:
    def run() -> object:
        out = timed.run()
        for _ in range(products):
            matrix @ matrix
        return out

    return Timed(run, timed.sync)


def _median_pair_s(plain: Timed, heavy: Timed) -> tuple[float, float]:
    """Median call seconds of `plain` and `heavy`, called alternately."""
    pairs = [
        (time_call(plain.run, plain.sync, time.perf_counter),
         time_call(heavy.run, heavy.sync, time.perf_counter))
        for _ in range(_CALIBRATION_CALLS)
    ]  # fmt: skip
    return statistics.median(p for p, _ in pairs), statistics.median(h for _, h in pairs)


def slowed(timed: Timed, ratio: float) -> Timed:
    """`timed` with extra work worth `ratio` x its median call time added to every call; the
    amount is sized by feedback (what the extra work measurably adds, next to the plain call)."""
    if ratio <= 0.0:
        return timed
    matrix = np.ones((_SIDE, _SIDE), dtype=np.float32)
    products = 1
    for _ in range(_FEEDBACK_STEPS):
        plain_s, heavy_s = _median_pair_s(timed, _with_products(timed, matrix, products))
        added_s = max(heavy_s - plain_s, 1e-7)
        products = max(1, round(products * ratio * plain_s / added_s))
    log.warning("planted slowdown: +%d matrix products per pruned call (%s)", products, PLANT_ENV)
    return _with_products(timed, matrix, products)
