"""Functional encoder forward, one sublayer at a time (numbering: kprune.sublayer), through an
`EncoderAccess`, with optional per-feature gates on each output projection's input (per context
dim for MHA, per neuron for FFN). Activations are padded or packed as their `TokenLayout` says.
Used by calibration passes and tests; it never changes weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from kprune.arch import EncoderAccess
from kprune.sublayer import Sublayer, sublayer_count
from kprune.tokens import TokenLayout


def attention_context(
    access: EncoderAccess, layer: int, x: torch.Tensor, layout: TokenLayout
) -> torch.Tensor:
    """Concatenated head contexts (heads·d_h per token): the input of the output projection."""
    heads = access.num_heads(layer)
    if heads == 0:
        return x.new_zeros(*x.shape[:-1], 0)
    d_h, batch, seq = access.head_size, layout.batch, layout.seq

    def split(role: str) -> torch.Tensor:
        projected = layout.padded(access.module(layer, role)(x))
        return projected.view(batch, seq, heads, d_h).transpose(1, 2)

    ctx = F.scaled_dot_product_attention(
        split("query"),
        split("key"),
        split("value"),
        attn_mask=layer_attention_mask(access, layer, layout),
        scale=d_h**-0.5,
    )
    return layout.arrange(ctx.transpose(1, 2).reshape(batch, seq, heads * d_h))


def layer_attention_mask(access: EncoderAccess, layer: int, layout: TokenLayout) -> torch.Tensor:
    """Additive attention mask of ``layer``: padding [B, 1, 1, T], plus the layer's slices of a
    shared position bias [1, heads, T, T] where the architecture has one (MPNet) -> [B, heads,
    T, T]. Packed or padded alike: attention always runs on the padded shape."""
    bias = access.attention_bias(layer, layout.seq)
    if bias is None:
        return layout.add_mask
    return layout.add_mask + bias.to(layout.add_mask.dtype)


def ffn_activations(access: EncoderAccess, layer: int, x: torch.Tensor) -> torch.Tensor:
    """Post-activation FFN features [..., neurons]: the input of the FFN output projection."""
    if access.num_neurons(layer) == 0:
        return x.new_zeros(*x.shape[:-1], 0)
    return access.activation(layer)(access.module(layer, "ffn_in")(x))


@dataclass
class SublayerOutput:
    # shapes per the layout: [B, T, c] padded, [N, c] packed
    features: torch.Tensor  # input of the output projection (after the gate), c = units
    pre_norm: torch.Tensor  # x + sublayer(x): the LayerNorm's input, c = d
    output: torch.Tensor  # LayerNorm(pre_norm): the next sublayer's input, c = d


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
    layout: TokenLayout,
    gate: torch.Tensor | None = None,
) -> SublayerOutput:
    """Run sublayer ``index`` on its input ``x`` (arranged as ``layout`` says)."""
    sub = Sublayer(index)
    if sub.is_ffn:
        feats = ffn_activations(access, sub.layer, x)
        norm = access.ffn_norm(sub.layer)
    else:
        feats = attention_context(access, sub.layer, x, layout)
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
    layout: TokenLayout,
    gates: dict[int, torch.Tensor] | None = None,
    keep_features: bool = False,
) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """Run sublayers start..2L-1 and the task head; returns (head output, features by sublayer).

    On a packed layout the head reads position 0 only (kprune.tokens.can_pack), so the last
    sublayer (an FFN) is differentiated on those rows alone: `_last_ffn_for_head`."""
    features: dict[int, torch.Tensor] = {}
    last = sublayer_count(len(access.layers)) - 1
    for index in range(start, last + 1):
        gate = gates.get(index) if gates else None
        if index == last and layout.packed:
            out = _last_ffn_for_head(access, index, x, layout, gate)
        else:
            out = sublayer_forward(access, index, x, layout, gate)
        if keep_features:
            features[index] = out.features
        x = out.output
    head_input = x[:, None, :] if layout.packed else x  # packed: already position 0, [B, d]
    return access.head(head_input), features


def _last_ffn_for_head(
    access: EncoderAccess,
    index: int,
    x: torch.Tensor,
    layout: TokenLayout,
    gate: torch.Tensor | None,
) -> SublayerOutput:
    """The last FFN for a head that reads position 0: features of every token (without a
    gradient: knowledge reads their values), output and gradient path on position 0 only.

    The loss depends on no other row of this sublayer's output, so the gradients are those of
    the full computation; its second linear and its backward run on B rows instead of N.
    Returns pre_norm and output as [B, d] (position 0 of each sequence).
    """
    with torch.no_grad():
        features = ffn_activations(access, Sublayer(index).layer, x)
        if gate is not None:
            features = features * gate
    head_rows = sublayer_forward(access, index, layout.first(x), layout, gate)
    return SublayerOutput(features, head_rows.pre_norm, head_rows.output)


def model_outputs(
    access: EncoderAccess,
    batch: dict[str, torch.Tensor],
    gates: dict[int, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Whole-model functional forward (embeddings -> encoder -> head) with optional gates."""
    x = access.embed(batch)
    layout = TokenLayout(batch["attention_mask"], x.dtype, packed=False)
    out, _ = forward_from(access, 0, x, layout, gates)
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
