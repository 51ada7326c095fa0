"""Functional encoder/decoder forward, one sublayer at a time (numbering: kprune.sublayer),
through an `EncoderAccess`, with optional per-feature gates on each output projection's input (per
context dim for attention, per neuron for FFN). Post-norm encoders and pre-norm decoders (causal,
rotary, grouped-query attention, SwiGLU) alike. Activations are padded or packed as their
`TokenLayout` says. Used by calibration passes and tests; it never changes weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from kprune.arch import EncoderAccess
from kprune.rotary import apply_rotary
from kprune.sublayer import Sublayer, sublayer_count
from kprune.tokens import TokenLayout, causal_additive_mask


def attention_context(
    access: EncoderAccess, layer: int, x: torch.Tensor, layout: TokenLayout
) -> torch.Tensor:
    """Concatenated head contexts (query heads·d_h per token): the output projection's input.

    ``x`` is what the query/key/value projections read (for a pre-norm model, the normed input).
    Grouped-query attention: each k/v head serves heads_per_unit adjacent query heads. A packed
    layout attends in its length groups (kprune.tokens.AttentionGroup), a padded one whole."""
    heads = access.num_heads(layer)
    if heads == 0:
        return x.new_zeros(*x.shape[:-1], 0)
    projected = [access.module(layer, role)(x) for role in ("query", "key", "value")]
    if not layout.packed:
        mask = layer_attention_mask(access, layer, layout.token_mask, layout.add_mask)
        return _attend(access, projected, layout.batch, layout.seq, mask)
    groups, gather, rows = layout.attention_groups()
    # one gather per projection for all groups (its backward is one scatter, not one per group)
    sizes = [group.batch * group.seq for group in groups]
    split = [p.index_select(0, gather).split(sizes) for p in projected]
    contexts = []
    for number, group in enumerate(groups):
        mask = layer_attention_mask(access, layer, group.token_mask, group.add_mask)
        picked = [parts[number] for parts in split]
        context = _attend(access, picked, group.batch, group.seq, mask)
        contexts.append(context.reshape(sizes[number], -1))
    joined = contexts[0] if len(contexts) == 1 else torch.cat(contexts)
    return joined.index_select(0, rows)


def _attend(
    access: EncoderAccess,
    projected: list[torch.Tensor],
    batch: int,
    seq: int,
    mask: torch.Tensor,
) -> torch.Tensor:
    """Scaled dot-product attention of [B·T, ·] or [B, T, ·] query/key/value projections
    -> contexts [B, T, heads·d_h]."""
    d_h = access.head_size
    query, key, value = (p.view(batch, seq, -1, d_h).transpose(1, 2) for p in projected)
    tables = access.rotary_tables(query, seq)
    if tables is not None:
        query, key = apply_rotary(query, key, *tables)
    if access.heads_per_unit > 1:
        key = key.repeat_interleave(access.heads_per_unit, dim=1)
        value = value.repeat_interleave(access.heads_per_unit, dim=1)
    ctx = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=d_h**-0.5)
    return ctx.transpose(1, 2).reshape(batch, seq, -1)


def layer_attention_mask(
    access: EncoderAccess, layer: int, token_mask: torch.Tensor, add_mask: torch.Tensor
) -> torch.Tensor:
    """Additive attention mask of ``layer`` for sequences with ``token_mask`` [B, T] (and its
    padding mask ``add_mask`` [B, 1, 1, T]): padding only; a decoder's causal (and
    sliding-window) mask [B, 1, T, T]; plus the layer's slices of a shared position bias
    [1, heads, T, T] where the architecture has one (MPNet) -> [B, heads, T, T]."""
    seq = int(token_mask.shape[1])
    if access.layout.causal:
        window = access.sliding_window(layer)
        return causal_additive_mask(token_mask, add_mask.dtype, window)
    bias = access.attention_bias(layer, seq)
    if bias is None:
        return add_mask
    return add_mask + bias.to(add_mask.dtype)


def ffn_activations(access: EncoderAccess, layer: int, x: torch.Tensor) -> torch.Tensor:
    """Post-activation FFN features [..., neurons]: the input of the FFN output projection
    (SwiGLU: act(gate(x)) * up(x), so a neuron is one gate row, one up row, one down column)."""
    if access.num_neurons(layer) == 0:
        return x.new_zeros(*x.shape[:-1], 0)
    roles = access.ffn_input_roles()
    features = access.activation(layer)(access.module(layer, roles[0])(x))
    for role in roles[1:]:
        features = features * access.module(layer, role)(x)
    return features


@dataclass
class SublayerOutput:
    # shapes per the layout: [B, T, c] padded, [N, c] packed
    features: torch.Tensor  # input of the output projection (after the gate), c = units
    # x + sublayer(x), c = d: the residual sum, which least squares refits toward. Post-norm
    # encoders: the LayerNorm's input. Pre-norm decoders: the output itself (the sublayer's own
    # norm sits on its input, so no norm follows the sum).
    pre_norm: torch.Tensor
    output: torch.Tensor  # the next sublayer's input: LayerNorm(pre_norm) post-norm, else pre_norm


def output_projection(access: EncoderAccess, index: int) -> nn.Linear:
    """W_out of sublayer ``index``: attention output dense, or the FFN's second linear."""
    sub = Sublayer(index)
    linear: nn.Linear = access.module(sub.layer, "ffn_out" if sub.is_ffn else "attn_out")
    return linear


def output_bias(access: EncoderAccess, index: int) -> torch.Tensor:
    """Output bias [d] of sublayer ``index`` (also of an empty bias-only block); zeros where the
    projection has no bias (Llama), which is what it adds."""
    sub = Sublayer(index)
    bias = access.ffn_bias(sub.layer) if sub.is_ffn else access.attn_bias(sub.layer)
    if bias is not None:
        return bias
    reference = next(access.model.parameters())
    return torch.zeros(access.hidden_size, dtype=reference.dtype, device=reference.device)


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
    pre_norm_model = access.layout.pre_norm
    norm = access.ffn_norm(sub.layer) if sub.is_ffn else access.attn_norm(sub.layer)
    reads = norm(x) if pre_norm_model else x  # what the sublayer's projections read
    if sub.is_ffn:
        feats = ffn_activations(access, sub.layer, reads)
    else:
        feats = attention_context(access, sub.layer, reads, layout)
    if gate is not None:
        feats = feats * gate
    return finish_sublayer(access, index, x, feats)


def finish_sublayer(
    access: EncoderAccess, index: int, x: torch.Tensor, feats: torch.Tensor
) -> SublayerOutput:
    """The rest of sublayer ``index`` from its features: output projection, residual sum and
    (post-norm) LayerNorm. ``feats`` must be as wide as the projection's input."""
    # A zero-width projection contributes only its bias.
    if feats.shape[-1] == 0:
        projected = output_bias(access, index).expand_as(x)
    else:
        projected = output_projection(access, index)(feats)
    pre_norm = x + projected
    if access.layout.pre_norm:
        return SublayerOutput(feats, pre_norm, pre_norm)
    sub = Sublayer(index)
    norm = access.ffn_norm(sub.layer) if sub.is_ffn else access.attn_norm(sub.layer)
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
