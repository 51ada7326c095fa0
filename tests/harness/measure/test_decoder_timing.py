"""Prefill/decode timing with a fake clock: iteration counts, what is timed, tokens/s."""

from __future__ import annotations

import numpy as np
import pytest

from harness.measure.clock import TimingSpec
from harness.measure.decoder_timing import DecoderTimingSpec, time_decoder
from harness.runtimes.causal_lm import DecodeStart, greedy_tokens

PREFILL_S, STEP_S, START_S = 0.25, 0.5, 100.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeLM:
    """Advances the fake clock: a prefill costs PREFILL_S, each decode step STEP_S."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls = {"logits": 0, "start": 0, "decode": 0, "sync": 0}

    @property
    def name(self) -> str:
        return "fake"

    def logits(self, token_ids: np.ndarray) -> np.ndarray:
        self.calls["logits"] += 1
        self.clock.now += PREFILL_S
        return np.zeros((*token_ids.shape, 4), np.float32)

    def start(self, prompt_ids: np.ndarray) -> DecodeStart:
        self.calls["start"] += 1
        self.clock.now += START_S  # never inside a timed sample
        first = np.full((prompt_ids.shape[0], 1), 7, np.int64)
        return DecodeStart(None, prompt_ids.shape[1], first)

    def decode(self, start: DecodeStart, new_tokens: int) -> np.ndarray:
        self.calls["decode"] += 1
        self.clock.now += STEP_S * new_tokens
        return np.tile(np.arange(new_tokens, dtype=np.int64), (start.first_token.shape[0], 1))

    def sync(self) -> None:
        self.calls["sync"] += 1


def test_prefill_and_decode_are_timed_apart_with_exact_counts() -> None:
    clock = FakeClock()
    lm = FakeLM(clock)
    timing = TimingSpec(warmup_iters=2, min_iters=3, min_seconds=0.0, max_seconds=1e9)
    spec = DecoderTimingSpec(new_tokens=4, timing=timing)
    result = time_decoder(lm, np.zeros((2, 5), np.int64), spec, clock)
    # first call + 2 warm-up + 3 samples each; decode once more for the recorded tokens
    assert lm.calls == {"logits": 6, "start": 1, "decode": 7, "sync": 12}
    assert result.prefill.samples_s == (PREFILL_S,) * 3
    assert result.decode.samples_s == (STEP_S * 4,) * 3  # the prompt's prefill is not in it
    assert result.prefill_ms == pytest.approx(PREFILL_S * 1e3)
    assert result.decode_tokens_per_s == pytest.approx(2 * 4 / (STEP_S * 4))
    assert result.greedy_tokens == ((7, 0, 1, 2, 3), (7, 0, 1, 2, 3))
    assert (result.batch_size, result.prompt_tokens, result.new_tokens) == (2, 5, 4)
    assert "use_cache=False" in result.prefill_definition
    assert "KV cache" in result.decode_definition


def test_greedy_tokens_puts_the_prefill_token_first() -> None:
    lm = FakeLM(FakeClock())
    assert greedy_tokens(lm, np.zeros((1, 3), np.int64), 2).tolist() == [[7, 0, 1]]


@pytest.mark.parametrize("bad", [np.zeros((0, 4), np.int64), np.zeros(4, np.int64)])
def test_prompt_must_be_a_nonempty_batch(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="prompt_ids"):
        time_decoder(FakeLM(FakeClock()), bad, DecoderTimingSpec())


def test_spec_needs_at_least_one_new_token() -> None:
    with pytest.raises(ValueError, match="new_tokens"):
        DecoderTimingSpec(new_tokens=0)
