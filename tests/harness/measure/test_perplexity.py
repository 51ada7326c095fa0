"""Perplexity on fixed windows: window plan, hand computation from logits, each token once."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from harness.measure.perplexity import PerplexitySpec, Window, perplexity, plan_windows
from harness.runtimes.torch_causal_lm import TorchCausalLM
from tests.harness.decoder_fixtures import tiny_llama

STREAM = np.random.default_rng(3).integers(0, 128, size=37).astype(np.int64)


def _hand_nll(model: torch.nn.Module, ids: np.ndarray, first_target: int) -> tuple[float, int]:
    """Sum of -log p over targets [first_target, len) of one window, straight from torch."""
    with torch.inference_mode():
        logits = model(input_ids=torch.from_numpy(ids)[None]).logits[0].double()
    logp = torch.log_softmax(logits, dim=-1)
    targets = torch.from_numpy(ids)
    nll = -sum(float(logp[t - 1, targets[t]]) for t in range(first_target, ids.size))
    return nll, ids.size - first_target


def test_non_overlapping_windows_skip_each_window_first_token() -> None:
    spec = PerplexitySpec(window_tokens=10, stride_tokens=10)
    assert plan_windows(25, spec) == [Window(0, 10, 1), Window(10, 20, 11), Window(20, 25, 21)]


def test_overlapping_windows_score_every_token_but_the_first_exactly_once() -> None:
    for n, window, stride in [(37, 8, 3), (37, 8, 8), (100, 16, 5), (9, 32, 4), (2, 2, 1)]:
        windows = plan_windows(n, PerplexitySpec(window, stride))
        scored = [t for w in windows for t in range(w.scored_from, w.end)]
        if stride < window:
            assert scored == list(range(1, n))
        assert len(scored) == len(set(scored))
        assert all(w.end - w.begin <= window and w.begin < w.scored_from for w in windows)


def test_max_windows_caps_the_plan() -> None:
    assert len(plan_windows(1000, PerplexitySpec(16, 8, max_windows=3))) == 3


@pytest.mark.parametrize(("window", "stride"), [(8, 8), (12, 5)])
def test_perplexity_equals_a_hand_computation_from_logits(window: int, stride: int) -> None:
    model = tiny_llama()
    spec = PerplexitySpec(window, stride)
    total, count = 0.0, 0
    for w in plan_windows(STREAM.size, spec):
        nll, scored = _hand_nll(model, STREAM[w.begin : w.end], w.scored_from - w.begin)
        total, count = total + nll, count + scored
    result = perplexity(TorchCausalLM(model).logits, STREAM, spec)
    assert result.tokens_scored == count
    assert result.mean_nll == pytest.approx(total / count, rel=1e-6)
    assert result.perplexity == pytest.approx(math.exp(total / count), rel=1e-6)
    assert (result.window_tokens, result.stride_tokens, result.stream_tokens) == (
        window,
        stride,
        37,
    )


def test_one_window_covering_the_stream_equals_full_context_scoring() -> None:
    model = tiny_llama()
    full_nll, scored = _hand_nll(model, STREAM, 1)
    for stride in (64, 5):  # the stride is irrelevant once the first window holds everything
        result = perplexity(TorchCausalLM(model).logits, STREAM, PerplexitySpec(64, stride))
        assert result.windows == 1
        assert result.tokens_scored == scored == STREAM.size - 1
        assert result.mean_nll == pytest.approx(full_nll / scored, rel=1e-6)


def test_uniform_logits_give_the_vocabulary_size() -> None:
    result = perplexity(
        lambda ids: np.zeros((*ids.shape, 50), np.float32), STREAM % 50, PerplexitySpec(8, 4)
    )
    assert result.perplexity == pytest.approx(50.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(window_tokens=1),
        dict(stride_tokens=0),
        dict(window_tokens=4, stride_tokens=5),
        dict(max_windows=0),
    ],
)
def test_spec_rejects_impossible_windows(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        PerplexitySpec(**kwargs)
