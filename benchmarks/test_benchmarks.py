"""Our own benchmarks on pytest-benchmark (storage, --benchmark-compare, histograms, JSON):
the cached Kprune loop against the full-pass loop, one ONNX export, and the timing overhead of
the harness's clock and of the gate's paired rounds.

    python -m pytest benchmarks -m bench --benchmark-enable [--benchmark-json=out.json]

Outside `testpaths`, so the test suite never runs them; with --benchmark-disable (tox.ini's
default) each runs its body once as a smoke check.
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch

from benchmarks.prune_loop import minilm_shaped_model, random_batches
from harness.gate.rounds import Pair, measure_rounds
from harness.measure.clock import Timed, time_call
from kprune import KpruneConfig, prune

pytestmark = pytest.mark.bench


def test_prune_loop_cached_vs_full_pass(benchmark):
    """pytest-benchmark times the cached loop; the full-pass loop runs before each round in
    its untimed setup (A B A B), and the per-pair ratio goes to extra_info."""
    torch.set_num_threads(1)
    model, batches = minilm_shaped_model(), random_batches(32, 32)
    full_s: list[float] = []
    masks = []

    def full_pass() -> None:
        start = time.perf_counter()
        result = prune(model, batches, KpruneConfig(target_flops_ratio=0.5, cache_inputs=False))
        full_s.append(time.perf_counter() - start)
        masks.append(result.masks)

    def cached():
        return prune(model, batches, KpruneConfig(target_flops_ratio=0.5, cache_inputs=True))

    result = benchmark.pedantic(cached, setup=full_pass, rounds=3)
    assert all(torch.equal(m.head_keep, result.masks.head_keep) for m in masks)
    assert all(torch.equal(m.neuron_keep, result.masks.neuron_keep) for m in masks)
    if not benchmark.disabled:
        cached_s = benchmark.stats.stats.median
        benchmark.extra_info["full_pass_median_s"] = statistics.median(full_s)
        benchmark.extra_info["speedup_of_cache"] = statistics.median(full_s) / cached_s


def test_export_onnx_tiny(benchmark, tmp_path):
    from harness.export.onnx import export_onnx
    from tests.conftest import tiny_model

    model = tiny_model("bert")
    exported = benchmark.pedantic(lambda: export_onnx(model, tmp_path, name="model"), rounds=3)
    benchmark.extra_info["max_abs_diff"] = exported.max_abs_diff


def _noop() -> None:
    return None


def test_clock_overhead_of_one_timed_call(benchmark):
    """What `time_call` adds to every sample (a no-op call, no sync)."""
    benchmark(time_call, _noop, _noop, time.perf_counter)


def test_paired_round_overhead(benchmark):
    """The gate's bookkeeping per round of two 10-call no-op blocks."""
    pair = Pair(Timed(_noop, _noop), Timed(_noop, _noop))
    benchmark(measure_rounds, pair, 1, 10, time.perf_counter)
