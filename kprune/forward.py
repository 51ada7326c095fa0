"""Functional encoder forward, one sublayer at a time, on the modules an `EncoderAccess` exposes.

Used by knowledge measurement, tuning and the equivalence tests. Sublayer k is the MHA of layer
k // 2 when k is even and its FFN when k is odd. Optional per-unit multipliers ("gate") scale
the features entering a sublayer's output projection: per context dim for MHA, per neuron for FFN.
It never changes weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from kprune.arch import EncoderAccess


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


def sublayer_forward(
    access: EncoderAccess,
    index: int,
    x: torch.Tensor,
    add_mask: torch.Tensor,
    gate: torch.Tensor | None = None,
) -> SublayerOutput:
    """Run sublayer ``index`` on its input ``x`` [B, T, d]."""
    layer, is_ffn = divmod(index, 2)
    if is_ffn:
        feats = ffn_activations(access, layer, x)
        bias, norm, role = access.ffn_bias(layer), access.ffn_norm(layer), "ffn_out"
    else:
        feats = attention_context(access, layer, x, add_mask)
        bias, norm, role = access.attn_bias(layer), access.attn_norm(layer), "attn_out"
    if gate is not None:
        feats = feats * gate
    # A zero-width projection contributes only its bias.
    projected = bias.expand_as(x) if feats.shape[-1] == 0 else access.module(layer, role)(feats)
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
    for index in range(start, 2 * len(access.layers)):
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
