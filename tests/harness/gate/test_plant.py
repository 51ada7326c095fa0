"""The planted slowdown used to test the gate: parsed strictly, off unless asked."""

from __future__ import annotations

import time

import pytest

from harness.errors import UsageError
from harness.gate.plant import PLANT_ENV, planted_ratio, slowed
from harness.measure.clock import Timed, time_call


def test_off_unless_set(monkeypatch):
    monkeypatch.delenv(PLANT_ENV, raising=False)
    assert planted_ratio() == 0.0
    timed = Timed(lambda: None, lambda: None)
    assert slowed(timed, 0.0) is timed


@pytest.mark.parametrize("raw", ["lots", "-0.5", "100"])
def test_bad_values_are_usage_errors(monkeypatch, raw):
    monkeypatch.setenv(PLANT_ENV, raw)
    with pytest.raises(UsageError, match=PLANT_ENV):
        planted_ratio()


def test_slowed_call_takes_longer_than_the_plain_call():
    def work() -> None:
        sum(range(20_000))

    plain = Timed(work, lambda: None)
    heavy = slowed(plain, 1.0)  # +100%: compared side by side, never against a wall-clock bound
    pairs = [
        (time_call(plain.run, plain.sync, time.perf_counter),
         time_call(heavy.run, heavy.sync, time.perf_counter))
        for _ in range(15)
    ]  # fmt: skip
    ratios = sorted(heavy_s / plain_s for plain_s, heavy_s in pairs)
    assert ratios[7] > 1.3
