"""Rotary position embedding (RoPE) applied to queries and keys, as Llama-style decoders do: the
two halves of each head's dims are rotated by position-dependent angles. Pure tensor math; the
(cos, sin) tables come from the model through kprune.arch.
"""

from __future__ import annotations

import torch


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    """[..., d_h] -> (-second half, first half): the 90° rotation of each (i, i + d_h/2) pair."""
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


def apply_rotary(
    q: torch.Tensor, k: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """q [B, Hq, T, d_h], k [B, G, T, d_h]; cos, sin [1 or B, T, d_h] -> rotated (q, k)."""
    cos, sin = cos[:, None], sin[:, None]  # broadcast over heads
    return q * cos + _rotate_half(q) * sin, k * cos + _rotate_half(k) * sin
