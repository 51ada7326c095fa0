"""Perplexity of a causal LM on fixed windows of one token stream (the Hugging Face
sliding-window recipe): token-weighted mean negative log-likelihood, exponentiated.

Works for any callable from token ids `[1, T]` int64 to logits `[1, T, vocab]` (a PyTorch
module's or an ONNX Runtime session's). Pure numpy; never loads models or text.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

LogitsFn = Callable[[np.ndarray], np.ndarray]
"""Token ids `[batch, seq]` int64 -> logits `[batch, seq, vocab]` float, no KV cache."""


@dataclass(frozen=True)
class PerplexitySpec:
    """Windows of `window_tokens` starting every `stride_tokens` tokens.

    stride == window: non-overlapping windows; the first token of each window has no context
    and is not scored. stride < window: each window scores only the tokens that the previous
    window did not reach, all of them with at least `window - stride` tokens of context, so
    every token but the stream's first is scored exactly once."""

    window_tokens: int = 512
    stride_tokens: int = 512
    max_windows: int | None = None
    """Score only the first windows (the CPU cost is ~linear in tokens); None: the whole text."""

    def __post_init__(self) -> None:
        if self.window_tokens < 2:
            raise ValueError(f"window_tokens must be >= 2, got {self.window_tokens}")
        if not 0 < self.stride_tokens <= self.window_tokens:
            raise ValueError(
                f"need 0 < stride_tokens <= window_tokens, got {self.stride_tokens}, "
                f"{self.window_tokens}"
            )
        if self.max_windows is not None and self.max_windows < 1:
            raise ValueError(f"max_windows must be >= 1 or None, got {self.max_windows}")


@dataclass(frozen=True)
class Window:
    """Tokens [begin, end) go through the model; targets [scored_from, end) are scored."""

    begin: int
    end: int
    scored_from: int


@dataclass(frozen=True)
class PerplexityResult:
    """exp(nll_sum / tokens_scored), with what was scored and how the windows were laid out."""

    perplexity: float
    mean_nll: float
    tokens_scored: int
    windows: int
    window_tokens: int
    stride_tokens: int
    stream_tokens: int
    """Length of the whole token stream (more than was read when max_windows cut it)."""


def plan_windows(stream_tokens: int, spec: PerplexitySpec) -> list[Window]:
    """The windows over a stream of `stream_tokens` tokens, in order (capped by max_windows)."""
    windows: list[Window] = []
    previous_end = 0
    for begin in range(0, max(stream_tokens - 1, 0), spec.stride_tokens):
        end = min(begin + spec.window_tokens, stream_tokens)
        # a window's first token has no context inside the window, so it is never a target
        windows.append(Window(begin, end, max(previous_end, begin + 1)))
        previous_end = end
        if end == stream_tokens or len(windows) == spec.max_windows:
            break
    return windows


def target_nll_sum(logits: np.ndarray, token_ids: np.ndarray, first_target: int) -> float:
    """Sum of -log p(token_ids[t] | tokens < t) over t >= first_target (relative to the window).

    `logits` is `[seq, vocab]` for `token_ids` `[seq]`; row t-1 predicts token t."""
    rows = logits[first_target - 1 : -1]
    targets = token_ids[first_target:]
    # float32 keeps a [512, 49152] window at 100 MB; the max shift makes every exp <= 1 and the
    # sums run in float64, so the error stays ~1e-7 relative
    shifted = rows - rows.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, dtype=np.float64))
    picked = shifted[np.arange(targets.size), targets].astype(np.float64)
    return float((log_norm - picked).sum())


def perplexity(logits_fn: LogitsFn, stream: np.ndarray, spec: PerplexitySpec) -> PerplexityResult:
    """Perplexity of `logits_fn` over the 1-D int64 token `stream` (one window per call)."""
    if stream.ndim != 1:
        raise ValueError(f"stream must be 1-D token ids, got shape {stream.shape}")
    windows = plan_windows(int(stream.size), spec)
    if not windows:
        raise ValueError(f"a stream of {stream.size} tokens has nothing to score")
    nll_sum, scored = 0.0, 0
    for window in windows:
        ids = stream[window.begin : window.end]
        logits = np.asarray(logits_fn(ids[None, :]))[0]
        nll_sum += target_nll_sum(logits, ids, window.scored_from - window.begin)
        scored += window.end - window.scored_from
    mean_nll = nll_sum / scored
    log.info(
        "perplexity %.3f over %d tokens in %d windows", math.exp(mean_nll), scored, len(windows)
    )
    return PerplexityResult(
        perplexity=math.exp(mean_nll),
        mean_nll=mean_nll,
        tokens_scored=scored,
        windows=len(windows),
        window_tokens=spec.window_tokens,
        stride_tokens=spec.stride_tokens,
        stream_tokens=int(stream.size),
    )
