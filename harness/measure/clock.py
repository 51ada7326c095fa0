"""One timing definition for every backend: host clock from call to usable output, with a device
sync before the clock is read; warm-up at the timed shape; first call kept apart.

Pure loop logic with injectable clock and sync (fake-clock testable). It never loads models,
never sleeps and never computes statistics (see `harness.measure.stats`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

Clock = Callable[[], float]
TIMER = "host_perf_counter+device_sync"  # what a sample is; stored in every Measurement row


@dataclass(frozen=True)
class TimingSpec:
    """Warm-up count, then time until BOTH min_iters and min_seconds (sum of samples) are met,
    stopping early at max_iters or when the timed phase has run max_seconds (wall)."""

    warmup_iters: int = 3
    min_iters: int = 10
    min_seconds: float = 0.5
    max_iters: int = 1000
    max_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.warmup_iters < 0:
            raise ValueError(f"warmup_iters must be >= 0, got {self.warmup_iters}")
        if not 0 < self.min_iters <= self.max_iters:
            raise ValueError(
                f"need 0 < min_iters <= max_iters, got {self.min_iters}, {self.max_iters}"
            )
        if not 0 <= self.min_seconds <= self.max_seconds:
            raise ValueError(
                f"need 0 <= min_seconds <= max_seconds, got {self.min_seconds}, {self.max_seconds}"
            )


@dataclass(frozen=True)
class TimingResult:
    """Raw timings in seconds: the timed samples in order, the cold first call, total warm-up."""

    samples_s: tuple[float, ...]
    first_call_s: float
    warmup_s: float
    threads: int | None = None
    """Intra-op threads the runtime reported while timed (None: left to the backend, or CUDA)."""
    pid: int | None = None
    """The process that ran the timed calls (an isolated child's own pid)."""

    @property
    def samples_ms(self) -> list[float]:
        return [s * 1e3 for s in self.samples_s]


@dataclass(frozen=True)
class Timed:
    """One configuration to time: the bound call and the sync that makes its output usable."""

    run: Callable[[], object]
    sync: Callable[[], None]


def time_call(run: Callable[[], object], sync: Callable[[], None], clock: Clock) -> float:
    """Seconds from call to usable output: clock, run, sync, clock."""
    start = clock()
    run()
    sync()
    return clock() - start


def _met_minimum(samples: list[float], spec: TimingSpec) -> bool:
    return len(samples) >= spec.min_iters and sum(samples) >= spec.min_seconds


def measure(
    run: Callable[[], object],
    sync: Callable[[], None],
    spec: TimingSpec,
    clock: Clock = time.perf_counter,
) -> TimingResult:
    """Time one configuration (first call, warm-up, then samples until the spec is met)."""
    return measure_interleaved({"only": Timed(run, sync)}, spec, clock)["only"]


def measure_interleaved(
    configs: Mapping[str, Timed], spec: TimingSpec, clock: Clock = time.perf_counter
) -> dict[str, TimingResult]:
    """Time several configurations round-robin (A B C A B C ...) so drift hits all equally.

    Every configuration gets the same number of samples; timing stops after the round in which
    all of them met min_iters and min_seconds, or max_iters was reached, or the timed phase ran
    max_seconds per configuration (wall clock). ``first_call_s`` is the first call of each bound
    run (loading and binding are the caller's to time).
    """
    if not configs:
        raise ValueError("nothing to time: configs is empty")
    names = list(configs)
    first = {n: time_call(configs[n].run, configs[n].sync, clock) for n in names}
    warmup = dict.fromkeys(names, 0.0)
    for _ in range(spec.warmup_iters):
        for n in names:
            warmup[n] += time_call(configs[n].run, configs[n].sync, clock)
    samples: dict[str, list[float]] = {n: [] for n in names}
    budget_s = spec.max_seconds * len(names)
    start = clock()
    while True:
        for n in names:
            samples[n].append(time_call(configs[n].run, configs[n].sync, clock))
        elapsed = clock() - start
        rounds = len(samples[names[0]])
        if rounds >= spec.max_iters or elapsed >= budget_s:
            break
        if all(_met_minimum(samples[n], spec) for n in names):
            break
    log.debug("timed %s: %d samples each in %.2f s", names, len(samples[names[0]]), elapsed)
    return {n: TimingResult(tuple(samples[n]), first[n], warmup[n]) for n in names}
