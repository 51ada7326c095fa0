"""Paired rounds with a fake clock: ABBA order, counts, stopping rule, drift cancellation."""

from __future__ import annotations

import math

import pytest

from harness.gate.rounds import (
    Pair,
    Rounds,
    measure_fixed,
    measure_rounds,
    measure_until_precise,
    round_order,
)
from harness.gate.settings import TrialSettings
from harness.measure.clock import Timed


class FakeMachine:
    """A clock that moves only when a model runs; each model's cost may drift with time."""

    def __init__(self, dense_s: float, pruned_s: float, drift_per_s: float = 0.0, jitter=None):
        self.now = 0.0
        self.cost = {"dense": dense_s, "pruned": pruned_s}
        self.drift_per_s = drift_per_s
        self.jitter = jitter or (lambda call: 1.0)
        self.calls: list[str] = []

    def clock(self) -> float:
        return self.now

    def timed(self, name: str) -> Timed:
        def run() -> None:
            factor = (1.0 + self.drift_per_s * self.now) * self.jitter(len(self.calls))
            self.now += self.cost[name] * factor
            self.calls.append(name)

        return Timed(run, lambda: None)

    def pair(self) -> Pair:
        return Pair(self.timed("dense"), self.timed("pruned"))


def _settings(**kwargs) -> TrialSettings:
    base = dict(
        tol_ratio=0.1,
        rounds_min=4,
        rounds_max=10,
        block_calls=3,
        warmup_calls=2,
        confidence=0.99,
        n_boot=500,
    )
    return TrialSettings(**{**base, **kwargs})


def test_rounds_alternate_abba_within_and_across_rounds():
    assert [round_order(i) for i in range(4)] == [
        ("dense", "pruned"),
        ("pruned", "dense"),
        ("dense", "pruned"),
        ("pruned", "dense"),
    ]
    machine = FakeMachine(0.010, 0.005)
    measure_rounds(machine.pair(), count=4, block_calls=2, clock=machine.clock)
    blocks = [machine.calls[i] for i in range(0, len(machine.calls), 2)]
    assert blocks == ["dense", "pruned", "pruned", "dense", "dense", "pruned", "pruned", "dense"]
    assert all(machine.calls[i] == machine.calls[i + 1] for i in range(0, 16, 2))


def test_exact_speedup_without_noise_stops_at_rounds_min():
    machine = FakeMachine(0.010, 0.004)
    rounds, estimate = measure_until_precise(machine.pair(), _settings(), clock=machine.clock)
    assert rounds.count == 4 and len(rounds.dense_ms[0]) == 3
    assert estimate.speedup == pytest.approx(2.5) and estimate.high == pytest.approx(2.5)
    assert len(machine.calls) == 2 * 2 + 4 * 2 * 3  # warm-up pairs, then the rounds


def test_noise_adds_rounds_up_to_rounds_max():
    noisy = FakeMachine(0.010, 0.005, jitter=lambda call: 1.0 + 0.6 * ((call * 7919) % 13) / 13)
    rounds, estimate = measure_until_precise(noisy.pair(), _settings(), clock=noisy.clock)
    assert rounds.count == 10  # never precise to tol/3 with this much noise
    assert estimate.half_width_ratio > 0.1 / 3


def test_confirmation_is_a_fresh_fixed_count():
    machine = FakeMachine(0.010, 0.005)
    rounds, estimate = measure_fixed(machine.pair(), 8, _settings(), clock=machine.clock)
    assert rounds.count == 8 and estimate.rounds == 8


def test_abba_cancels_linear_drift_that_a_blocked_order_does_not():
    """True speedup 2.0 and the machine slows 20% per second of work."""
    machine = FakeMachine(0.010, 0.005, drift_per_s=0.2)
    rounds, estimate = measure_until_precise(
        machine.pair(), _settings(rounds_min=10, rounds_max=10, block_calls=10), machine.clock
    )
    blocked = FakeMachine(0.010, 0.005, drift_per_s=0.2)
    ab_only = Rounds()
    for _ in range(10):  # always dense first: the pruned block runs later, on a slower machine
        ab_only = ab_only.plus(measure_rounds(blocked.pair(), 1, 10, blocked.clock))
    blocked_speedup = math.exp(sorted(ab_only.log_ratios)[5])
    assert abs(estimate.speedup - 2.0) < abs(blocked_speedup - 2.0) / 5
