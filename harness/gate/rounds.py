"""Paired rounds: each round is one dense block and one pruned block of k calls, in ABBA order
(even rounds dense first, odd rounds pruned first) so linear drift hits both sides alike.

Rounds are added until the CI half-width is at most tol/3 or rounds_max; a confirmation is a
fresh measure of a fixed number of rounds. Injectable clock (fake-clock testable); never loads
models, never sleeps, never decides a verdict.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from dataclasses import dataclass
from typing import Literal

from harness.gate.paired import PairedEstimate, paired_estimate
from harness.gate.settings import TrialSettings
from harness.measure.clock import Clock, Timed, time_call

log = logging.getLogger(__name__)

Arm = Literal["dense", "pruned"]


def round_order(index: int) -> tuple[Arm, Arm]:
    """The two blocks of round `index`: ABBA across rounds (A = dense, B = pruned)."""
    return ("dense", "pruned") if index % 2 == 0 else ("pruned", "dense")


@dataclass(frozen=True)
class Pair:
    """The two models of one trial, bound to the same input batch."""

    dense: Timed
    pruned: Timed

    def arm(self, name: Arm) -> Timed:
        return self.dense if name == "dense" else self.pruned


@dataclass(frozen=True)
class Rounds:
    """Per round, the call times (ms) of its dense block and of its pruned block."""

    dense_ms: tuple[tuple[float, ...], ...] = ()
    pruned_ms: tuple[tuple[float, ...], ...] = ()

    @property
    def count(self) -> int:
        return len(self.dense_ms)

    @property
    def log_ratios(self) -> tuple[float, ...]:
        """log(median dense block / median pruned block), per round."""
        return tuple(
            math.log(statistics.median(d) / statistics.median(p))
            for d, p in zip(self.dense_ms, self.pruned_ms, strict=True)
        )

    def plus(self, later: Rounds) -> Rounds:
        return Rounds(self.dense_ms + later.dense_ms, self.pruned_ms + later.pruned_ms)

    def flat_ms(self, arm: Arm) -> list[float]:
        blocks = self.dense_ms if arm == "dense" else self.pruned_ms
        return [sample for block in blocks for sample in block]


def time_block(timed: Timed, calls: int, clock: Clock) -> tuple[float, ...]:
    """`calls` back-to-back call times in ms."""
    return tuple(time_call(timed.run, timed.sync, clock) * 1e3 for _ in range(calls))


def measure_rounds(
    pair: Pair, count: int, block_calls: int, clock: Clock, first_index: int = 0
) -> Rounds:
    """Rounds `first_index` .. `first_index + count - 1` (their index sets their order)."""
    dense: list[tuple[float, ...]] = []
    pruned: list[tuple[float, ...]] = []
    for index in range(first_index, first_index + count):
        blocks = {arm: time_block(pair.arm(arm), block_calls, clock) for arm in round_order(index)}
        dense.append(blocks["dense"])
        pruned.append(blocks["pruned"])
    return Rounds(tuple(dense), tuple(pruned))


def warm_up(pair: Pair, calls: int, clock: Clock) -> None:
    """Untimed calls of both models (alternating) before the first round."""
    for _ in range(calls):
        for arm in ("dense", "pruned"):
            time_call(pair.arm(arm).run, pair.arm(arm).sync, clock)


def _estimate(rounds: Rounds, settings: TrialSettings) -> PairedEstimate:
    return paired_estimate(rounds.log_ratios, settings.confidence, settings.n_boot)


def extend_until_precise(
    pair: Pair, rounds: Rounds, settings: TrialSettings, clock: Clock = time.perf_counter
) -> tuple[Rounds, PairedEstimate]:
    """`rounds` plus two more at a time (the ABBA pattern stays whole) until the CI half-width
    is at most tol/3 or rounds_max is reached."""
    estimate = _estimate(rounds, settings)
    while (
        estimate.half_width_ratio > settings.target_half_width_ratio
        and rounds.count < settings.rounds_max
    ):
        step = min(2, settings.rounds_max - rounds.count)
        more = measure_rounds(pair, step, settings.block_calls, clock, first_index=rounds.count)
        rounds = rounds.plus(more)
        estimate = _estimate(rounds, settings)
    log.debug("%d rounds: %.3fx [%.3f, %.3f]", rounds.count, *_numbers(estimate))
    return rounds, estimate


def measure_until_precise(
    pair: Pair, settings: TrialSettings, clock: Clock = time.perf_counter
) -> tuple[Rounds, PairedEstimate]:
    """Warm up, rounds_min rounds, then more until precise (`extend_until_precise`)."""
    warm_up(pair, settings.warmup_calls, clock)
    rounds = measure_rounds(pair, settings.rounds_min, settings.block_calls, clock)
    return extend_until_precise(pair, rounds, settings, clock)


def measure_fixed(
    pair: Pair, count: int, settings: TrialSettings, clock: Clock = time.perf_counter
) -> tuple[Rounds, PairedEstimate]:
    """A fresh measure of exactly `count` rounds (the confirmation re-measure)."""
    warm_up(pair, settings.warmup_calls, clock)
    rounds = measure_rounds(pair, count, settings.block_calls, clock)
    return rounds, _estimate(rounds, settings)


def _numbers(estimate: PairedEstimate) -> tuple[float, float, float]:
    return estimate.speedup, estimate.low, estimate.high
