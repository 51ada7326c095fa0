"""Our own benchmarks on pytest-benchmark (storage, --benchmark-compare, histograms, JSON):
the Kprune loop against the official code's full-pass loop (4K / 32K / 100K tokens), one ONNX
export, and the timing overhead of the harness's clock and of the gate's paired rounds.

    python -m pytest benchmarks -m bench --benchmark-enable [--benchmark-json=out.json]

Outside `testpaths`, so the test suite never runs them; with --benchmark-disable (tox.ini's
default) each runs its body once as a smoke check.
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch

from benchmarks.prune_loop import (
    hf_gate_gradients,
    kprune_gate_gradients,
    minilm_shaped_model,
    random_batches,
)
from harness.gate.rounds import Pair, measure_rounds
from harness.measure.clock import Timed, time_call
from kprune import KpruneConfig, prune

pytestmark = pytest.mark.bench


def _sequences_for(tokens: int, seq_len: int) -> int:
    # random_batches draws lengths uniformly in [seq_len/4, seq_len]
    return max(1, round(tokens / ((seq_len // 4 + seq_len) / 2)))


@pytest.mark.parametrize("tokens", [4096, 32768, 100_000], ids=["4K", "32K", "100K"])
def test_prune_loop_fast_vs_full_pass(benchmark, tokens):
    """pytest-benchmark times the default loop (cached inputs, packed tokens) on the MiniLM
    shape with random-order ragged batches of 32; the official code's loop (a full padded pass
    every step) runs before each round in its untimed setup (A B A B), masks are compared, and
    the per-pair ratio goes to extra_info. Select a size with -k 4K / 32K / 100K."""
    torch.set_num_threads(1)
    model = minilm_shaped_model()
    batches = random_batches(_sequences_for(tokens, 64), 64)
    reference_s: list[float] = []
    masks = []
    reference = KpruneConfig(target_flops_ratio=0.5, cache_inputs=False, pack_tokens=False)

    def full_pass() -> None:
        start = time.perf_counter()
        result = prune(model, batches, reference)
        reference_s.append(time.perf_counter() - start)
        masks.append(result.masks)

    def fast():
        return prune(model, batches, KpruneConfig(target_flops_ratio=0.5))

    result = benchmark.pedantic(fast, setup=full_pass, rounds=3 if tokens <= 4096 else 1)
    assert all(torch.equal(m.head_keep, result.masks.head_keep) for m in masks)
    assert all(torch.equal(m.neuron_keep, result.masks.neuron_keep) for m in masks)
    if not benchmark.disabled:
        fast_s = benchmark.stats.stats.median
        benchmark.extra_info["calibration_tokens"] = sum(
            int(b["attention_mask"].sum()) for b in batches
        )
        benchmark.extra_info["reference_median_s"] = statistics.median(reference_s)
        benchmark.extra_info["speedup_over_reference"] = statistics.median(reference_s) / fast_s


def test_gate_pass_kprune_forward_vs_hf_module_forward(benchmark):
    """One forward and backward to every gate (a step of the full-pass loop) through kprune's
    functional forward, timed by pytest-benchmark, against HF's own module forward with the
    gates applied by hooks as the official code does (untimed setup, A B A B); the gradients
    must agree, and the per-round ratio HF / kprune goes to extra_info. MiniLM shape, one
    ragged batch of 32 up to 128 tokens, one thread."""
    torch.set_num_threads(1)
    model = minilm_shaped_model()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    batch = random_batches(32, 128, seed=2)[0]
    hf_s: list[float] = []
    hf_grads: list[dict[int, torch.Tensor]] = []

    def hf_pass() -> None:
        start = time.perf_counter()
        hf_grads.append(hf_gate_gradients(model, batch))
        hf_s.append(time.perf_counter() - start)

    ours = benchmark.pedantic(
        kprune_gate_gradients, args=(model, batch), setup=hf_pass, rounds=5, warmup_rounds=1
    )
    for index, grad in ours.items():
        torch.testing.assert_close(grad, hf_grads[-1][index], rtol=1e-4, atol=1e-6)
    if not benchmark.disabled:
        benchmark.extra_info["hf_median_s"] = statistics.median(hf_s)
        benchmark.extra_info["hf_over_kprune"] = (
            statistics.median(hf_s) / benchmark.stats.stats.median
        )


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
