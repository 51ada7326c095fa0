"""Prefill latency and decode throughput of a causal LM, timed with the one timing definition
(`harness.measure.clock`): host clock from call to usable output, device sync before reading it.

- prefill: one forward over `[batch, prompt]` tokens with use_cache=False, logits for every
  position (what the ONNX prefill graph computes and what perplexity runs).
- decode: `new_tokens` greedy single-token steps with the KV cache, from a prompt whose cache
  was built before the clock started (prefill excluded); tokens/s = batch x new_tokens / median
  seconds of one decode call.
Never loads models and never exports.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from harness.measure.clock import TIMER, Clock, TimingResult, TimingSpec, measure
from harness.measure.stats import LatencyStats, summarize
from harness.runtimes.causal_lm import CausalLM

log = logging.getLogger(__name__)

PREFILL_DEFINITION = (
    "one forward over batch x prompt tokens, use_cache=False, logits for every position"
)
DECODE_DEFINITION = (
    "greedy single-token steps with the KV cache from an already prefilled prompt (prefill "
    "not timed); tokens/s = batch * new_tokens / median seconds per decode call"
)


@dataclass(frozen=True)
class DecoderTimingSpec:
    """How many tokens to decode per timed call, and the warm-up/iteration rule for both parts."""

    new_tokens: int = 16
    timing: TimingSpec = field(default_factory=TimingSpec)

    def __post_init__(self) -> None:
        if self.new_tokens < 1:
            raise ValueError(f"new_tokens must be >= 1, got {self.new_tokens}")


@dataclass(frozen=True)
class DecoderTiming:
    """Raw samples and summaries of both parts on one runtime, with what each part means."""

    runtime: str
    batch_size: int
    prompt_tokens: int
    new_tokens: int
    prefill: TimingResult
    decode: TimingResult
    prefill_stats: LatencyStats
    decode_stats: LatencyStats
    greedy_tokens: tuple[tuple[int, ...], ...]
    """Per row: the prefill's token, then the decoded ones (the same in every timed call)."""
    prefill_definition: str = PREFILL_DEFINITION
    decode_definition: str = DECODE_DEFINITION
    timer: str = TIMER

    @property
    def prefill_ms(self) -> float:
        return self.prefill_stats.median_ms

    @property
    def decode_tokens_per_s(self) -> float:
        return self.batch_size * self.new_tokens / (self.decode_stats.median_ms / 1e3)


def time_decoder(
    lm: CausalLM,
    prompt_ids: np.ndarray,
    spec: DecoderTimingSpec,
    clock: Clock = time.perf_counter,
) -> DecoderTiming:
    """Time prefill, then decoding, of `prompt_ids` `[batch, prompt]` on `lm`."""
    if prompt_ids.ndim != 2 or prompt_ids.size == 0:
        raise ValueError(
            f"prompt_ids must be a non-empty [batch, seq] array, got {prompt_ids.shape}"
        )
    prefill = measure(lambda: lm.logits(prompt_ids), lm.sync, spec.timing, clock)
    start = lm.start(prompt_ids)
    decode = measure(lambda: lm.decode(start, spec.new_tokens), lm.sync, spec.timing, clock)
    tokens = np.concatenate([start.first_token, lm.decode(start, spec.new_tokens)], axis=1)
    result = DecoderTiming(
        runtime=lm.name,
        batch_size=int(prompt_ids.shape[0]),
        prompt_tokens=int(prompt_ids.shape[1]),
        new_tokens=spec.new_tokens,
        prefill=prefill,
        decode=decode,
        prefill_stats=summarize(prefill.samples_ms),
        decode_stats=summarize(decode.samples_ms),
        greedy_tokens=tuple(tuple(int(t) for t in row) for row in tokens),
    )
    log.info(
        "%s: prefill %.2f ms, decode %.1f tokens/s",
        lm.name,
        result.prefill_ms,
        result.decode_tokens_per_s,
    )
    return result
