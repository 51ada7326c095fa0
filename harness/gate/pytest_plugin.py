"""pytest plugin (entry point `pytest11: kprune`): the `kprune_trial` fixture times a pruned model
against its dense model in paired ABBA rounds, through pytest-benchmark.

pytest-benchmark times the pruned calls itself (its storage, `--benchmark-compare`, histograms
and `--benchmark-json` work as usual) while the dense blocks run in its untimed setup/teardown
in ABBA order; the speedup, its CI, the kept FLOPs ratio, the metric and the fingerprint go to
`extra_info["kprune"]`, which `kprune-bench gate` reads. With `--benchmark-disable` each model
runs once and nothing is timed. Imports nothing heavy until the fixture is used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass(frozen=True)
class TrialOutcome:
    """What `kprune_trial(...)` returns: the trial key and, when timed, the speedup and its CI."""

    key: str
    measured: bool
    speedup: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    rounds: int = 0
    info: dict[str, Any] = field(default_factory=dict)


def _pedantic_rounds(benchmark: Any, pair: Any, count: int, calls: int) -> Any:
    """`count` ABBA rounds whose pruned calls pytest-benchmark times (and we record too)."""
    from harness.gate.rounds import Rounds, round_order, time_block

    dense: list[tuple[float, ...]] = [() for _ in range(count)]
    pruned: list[list[float]] = [[] for _ in range(count)]
    position = {"call": 0}

    def setup() -> None:  # before a round's pruned block when that round starts with dense
        index, offset = divmod(position["call"], calls)
        if offset == 0 and round_order(index)[0] == "dense":
            dense[index] = time_block(pair.dense, calls, time.perf_counter)

    def target() -> object:
        start = time.perf_counter()
        out = pair.pruned.run()
        pair.pruned.sync()
        pruned[position["call"] // calls].append((time.perf_counter() - start) * 1e3)
        return out

    def teardown() -> None:  # after a round's pruned block when that round ends with dense
        index, offset = divmod(position["call"], calls)
        if offset == calls - 1 and round_order(index)[1] == "dense":
            dense[index] = time_block(pair.dense, calls, time.perf_counter)
        position["call"] += 1

    benchmark.pedantic(target, setup=setup, teardown=teardown, rounds=count * calls)
    return Rounds(tuple(dense), tuple(tuple(block) for block in pruned))


class KpruneTrial:
    """The callable the `kprune_trial` fixture returns (one trial per test)."""

    def __init__(self, benchmark: Any) -> None:
        self.benchmark = benchmark

    def __call__(
        self,
        dense: Any,
        pruned: Any,
        *,
        batch_size: int = 1,
        seq_len: int = 32,
        runtime: Any = None,
        method: str = "kprune",
        target_flops_ratio: float | None = None,
        achieved_flops_ratio: float | None = None,
        metric: tuple[str, float] | None = None,
        seed: int = 0,
        gate: Any = None,
    ) -> TrialOutcome:
        """Time `pruned` (a `kprune.PruneResult`, a module, or what `runtime` loads) against
        `dense` on `runtime` (default: torch, 1 thread) at (batch_size, seq_len)."""
        from harness.gate.trial import prepare_trial

        trial = prepare_trial(
            dense, pruned, batch_size, seq_len, runtime, method, target_flops_ratio,
            achieved_flops_ratio, metric, seed, gate,
        )  # fmt: skip
        self.benchmark.extra_info["kprune"] = trial.info
        if self.benchmark.disabled:  # pytest-benchmark's contract: run once, time nothing
            self.benchmark.pedantic(lambda: (trial.pair.dense.run(), trial.pair.pruned.run()))
            return TrialOutcome(trial.key, measured=False, info=trial.info)
        from harness.gate.rounds import extend_until_precise, warm_up

        settings = trial.settings
        warm_up(trial.pair, settings.warmup_calls, time.perf_counter)
        first = _pedantic_rounds(
            self.benchmark, trial.pair, settings.rounds_min, settings.block_calls
        )
        rounds, estimate = extend_until_precise(trial.pair, first, settings)
        trial.info.update(trial.measured_info(rounds, estimate))
        return TrialOutcome(
            trial.key, True, estimate.speedup, estimate.low, estimate.high, rounds.count, trial.info
        )


@pytest.fixture
def kprune_trial(benchmark: Any) -> KpruneTrial:
    """`kprune_trial(dense, pruned, batch_size=..., seq_len=...)` -> `TrialOutcome`."""
    return KpruneTrial(benchmark)
