"""Functional encoder forward, one sublayer at a time (numbering: kprune.sublayer), through an
`EncoderAccess`, with optional per-feature gates on each output projection's input (per context
dim for MHA, per neuron for FFN). Used by calibration passes and tests; it never changes weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from kprune.arch import EncoderAccess
from kprune.sublayer import Sublayer, sublayer_count


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[B, T] 1/0 mask -> [B, 1, 1, T] additive mask (0 for tokens, dtype-min for padding)."""
    mask = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - mask) * torch.finfo(dtype).min


def attention_context(
    access: EncoderAccess, layer: int, x: torch.Tensor, add_mask: torch.Tensor
) -> torch.Tensor:
    """Concatenated head contexts [B, T, heads·d_h]: the input of the output projection."""
    batch, seq, _ = x.shape
    heads = access.num_heads(layer)
    if heads == 0:
        return x.new_zeros(batch, seq, 0)
    d_h = access.head_size

    def split(role: str) -> torch.Tensor:
        return access.module(layer, role)(x).view(batch, seq, heads, d_h).transpose(1, 2)

    ctx = F.scaled_dot_product_attention(
        split("query"), split("key"), split("value"), attn_mask=add_mask, scale=d_h**-0.5
    )
    return ctx.transpose(1, 2).reshape(batch, seq, heads * d_h)


def ffn_activations(access: EncoderAccess, layer: int, x: torch.Tensor) -> torch.Tensor:
    """Post-activation FFN features [..., neurons]: the input of the FFN output projection."""
    if access.num_neurons(layer) == 0:
        return x.new_zeros(*x.shape[:-1], 0)
    return access.activation(layer)(access.module(layer, "ffn_in")(x))


@dataclass
class SublayerOutput:
    features: torch.Tensor  # input of the output projection (after the gate), [B, T, units]
    pre_norm: torch.Tensor  # x + sublayer(x): the LayerNorm's input, [B, T, d]
    output: torch.Tensor  # LayerNorm(pre_norm): the next sublayer's input, [B, T, d]


def output_projection(access: EncoderAccess, index: int) -> nn.Linear:
    """W_out of sublayer ``index``: attention output dense, or the FFN's second linear."""
    sub = Sublayer(index)
    linear: nn.Linear = access.module(sub.layer, "ffn_out" if sub.is_ffn else "attn_out")
    return linear


def output_bias(access: EncoderAccess, index: int) -> torch.Tensor:
    """Output bias of sublayer ``index`` (also of an empty bias-only block)."""
    sub = Sublayer(index)
    return access.ffn_bias(sub.layer) if sub.is_ffn else access.attn_bias(sub.layer)


def feature_width(access: EncoderAccess, index: int) -> int:
    """Current number of features entering sublayer ``index``'s output projection."""
    sub = Sublayer(index)
    if sub.is_ffn:
        return access.num_neurons(sub.layer)
    return access.num_heads(sub.layer) * access.head_size


def sublayer_forward(
    access: EncoderAccess,
    index: int,
    x: torch.Tensor,
    add_mask: torch.Tensor,
    gate: torch.Tensor | None = None,
) -> SublayerOutput:
    """Run sublayer ``index`` on its input ``x`` [B, T, d]."""
    sub = Sublayer(index)
    if sub.is_ffn:
        feats = ffn_activations(access, sub.layer, x)
        norm = access.ffn_norm(sub.layer)
    else:
        feats = attention_context(access, sub.layer, x, add_mask)
        norm = access.attn_norm(sub.layer)
    if gate is not None:
        feats = feats * gate
    # A zero-width projection contributes only its bias.
    if feats.shape[-1] == 0:
        projected = output_bias(access, index).expand_as(x)
    else:
        projected = output_projection(access, index)(feats)
    pre_norm = x + projected
    return SublayerOutput(feats, pre_norm, norm(pre_norm))


def forward_from(
    access: EncoderAccess,
    start: int,
    x: torch.Tensor,
    add_mask: torch.Tensor,
    gates: dict[int, torch.Tensor] | None = None,
    keep_features: bool = False,
) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """Run sublayers start..2L-1 and the task head; returns (head output, features by sublayer)."""
    features: dict[int, torch.Tensor] = {}
    for index in range(start, sublayer_count(len(access.layers))):
        gate = gates.get(index) if gates else None
        out = sublayer_forward(access, index, x, add_mask, gate)
        if keep_features:
            features[index] = out.features
        x = out.output
    return access.head(x), features


def model_outputs(
    access: EncoderAccess,
    batch: dict[str, torch.Tensor],
    gates: dict[int, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Whole-model functional forward (embeddings -> encoder -> head) with optional gates."""
    x = access.embed(batch)
    add_mask = additive_mask(batch["attention_mask"], x.dtype)
    out, _ = forward_from(access, 0, x, add_mask, gates)
    return out


def gradient_gates(
    access: EncoderAccess, start: int, device: torch.device | str
) -> dict[int, torch.Tensor]:
    """All-ones gates of sublayers start..2L-1 that record gradients (knowledge, Fisher)."""
    return {
        index: torch.ones(feature_width(access, index), device=device, requires_grad=True)
        for index in range(start, sublayer_count(len(access.layers)))
    }


def gate_gradients(loss: torch.Tensor, gates: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
    """d loss / d gate per sublayer; a gate the loss does not reach gets zeros."""
    grads = torch.autograd.grad(loss, list(gates.values()), allow_unused=True)
    return {j: g if g is not None else torch.zeros_like(gates[j]) for j, g in zip(gates, grads)}
