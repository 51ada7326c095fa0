"""A planted regression for testing the gate itself: with `KPRUNE_BENCH_GATE_PLANT_SLOWDOWN=0.25`
every timed call of a candidate's pruned model also busy-waits 25% of that call's warm median
time, so its speedup drops to 1/1.25 of what it is.

A busy-wait adds a known amount of time; extra matrix products were tried first, but what they
add depends on cache state and on other processes, so the plant's size could not be stated.
Test use only: the gate logs a warning and notes the ratio in gate.json when it is set.
"""

from __future__ import annotations

import logging
import os
import statistics
import time

from harness.errors import UsageError
from harness.measure.clock import Timed, time_call

log = logging.getLogger(__name__)

PLANT_ENV = "KPRUNE_BENCH_GATE_PLANT_SLOWDOWN"
_CALIBRATION_CALLS = 21


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


def _busy_wait(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def slowed(timed: Timed, ratio: float) -> Timed:
    """`timed` with a busy-wait of `ratio` x its warm median call time added to every call."""
    if ratio <= 0.0:
        return timed
    plain_s = statistics.median(
        time_call(timed.run, timed.sync, time.perf_counter) for _ in range(_CALIBRATION_CALLS)
    )
    extra_s = ratio * plain_s
    log.warning("planted slowdown: +%.3f ms per pruned call (%s)", extra_s * 1e3, PLANT_ENV)

    def run() -> object:
        out = timed.run()
        _busy_wait(extra_s)
        return out

    return Timed(run, timed.sync)
