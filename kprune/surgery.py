"""Physical pruning: slice attention units (q/k/v rows, W_out columns) and FFN neurons (W_in rows,
SwiGLU gate rows too, W_out columns) out of an encoder or decoder; empty sublayers become
`kprune.blocks`' exact bias-only blocks. A GQA unit is a key/value group: its k/v head and its
adjacent query heads go together, so every layer keeps heads_per_unit query heads per k/v head.
It decides nothing: the keep-masks come from a pruning method.

transformers 5.x has no `prune_heads`, hence this module.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from kprune.arch import EncoderAccess
from kprune.errors import KpruneError
from kprune.masks import Masks
from kprune.sublayer import head_dims


def _sliced_linear(linear: nn.Linear, index: torch.Tensor, dim: int) -> nn.Linear:
    """A new Linear keeping rows (dim=0, output features) or columns (dim=1) at ``index``."""
    weight = linear.weight.detach().index_select(dim, index.to(linear.weight.device)).clone()
    has_bias = linear.bias is not None
    new = _bare_linear(weight.shape[1], weight.shape[0])
    new.weight = nn.Parameter(weight, requires_grad=False)
    if has_bias:
        assert linear.bias is not None, "bias presence checked above"
        bias = linear.bias.detach()
        bias = bias.index_select(0, index.to(bias.device)).clone() if dim == 0 else bias.clone()
        new.bias = nn.Parameter(bias, requires_grad=False)
    return new


def _bare_linear(in_features: int, out_features: int) -> nn.Linear:
    """An nn.Linear with no parameters yet: zero-width layers must not be initialised (torch
    warns, and random init is wasted work when the weights are copied in right after)."""
    new = nn.Linear.__new__(nn.Linear)
    nn.Module.__init__(new)
    new.in_features, new.out_features = int(in_features), int(out_features)
    new.register_parameter("bias", None)
    return new


def _check_keep(keep: torch.Tensor, units: int, what: str) -> torch.Tensor:
    if keep.dtype != torch.bool or keep.dim() != 1 or keep.numel() != units:
        raise KpruneError(
            f"{what} keep-mask must be a 1-D bool tensor of length {units} (the current number "
            f"of units), got shape {tuple(keep.shape)} and dtype {keep.dtype}"
        )
    return torch.nonzero(keep, as_tuple=False).flatten()


def prune_attention(
    access: EncoderAccess,
    layer: int,
    head_keep: torch.Tensor,
    out_weight: torch.Tensor | None = None,
) -> None:
    """Keep only the attention units ``head_keep`` [units] of ``layer`` (in place: heads, or
    key/value groups with their query heads); optionally set W_out [d, kept·unit_width]."""
    kept = _check_keep(head_keep, access.num_units(layer), f"layer {layer} attention unit")
    query_dims = head_dims(kept, access.unit_width)  # the units' query heads, o_proj columns
    key_dims = head_dims(kept, access.head_size)  # one k/v head per unit
    for role, dims in (("query", query_dims), ("key", key_dims), ("value", key_dims)):
        access.replace(layer, role, _sliced_linear(access.module(layer, role), dims, 0))
    access.replace(
        layer, "attn_out", _sliced_linear(access.module(layer, "attn_out"), query_dims, 1)
    )
    if out_weight is not None:
        _set_weight(access.module(layer, "attn_out"), out_weight)
    access.record_kept_heads(layer, kept)


def prune_ffn(
    access: EncoderAccess,
    layer: int,
    neuron_keep: torch.Tensor,
    out_weight: torch.Tensor | None = None,
) -> None:
    """Keep only ``neuron_keep`` neurons of ``layer`` (in place); optionally set W_out [d, kept]."""
    kept = _check_keep(neuron_keep, access.num_neurons(layer), f"layer {layer} neuron")
    for role in access.ffn_input_roles():
        access.replace(layer, role, _sliced_linear(access.module(layer, role), kept, 0))
    access.replace(layer, "ffn_out", _sliced_linear(access.module(layer, "ffn_out"), kept, 1))
    if out_weight is not None:
        _set_weight(access.module(layer, "ffn_out"), out_weight)


def _set_weight(linear: nn.Linear, weight: torch.Tensor) -> None:
    if tuple(weight.shape) != tuple(linear.weight.shape):
        raise KpruneError(
            f"tuned weight has shape {tuple(weight.shape)}, expected {tuple(linear.weight.shape)}"
        )
    linear.weight = nn.Parameter(
        weight.detach().to(linear.weight.dtype).to(linear.weight.device).clone(),
        requires_grad=False,
    )


def replace_empty_sublayers(access: EncoderAccess) -> None:
    """Swap every zero-width sublayer for its exact bias-only block (exportable to ONNX)."""
    for layer in range(len(access.layers)):
        if not access.attention_is_empty(layer) and access.num_units(layer) == 0:
            access.make_attention_empty(layer)
        if not access.ffn_is_empty(layer) and access.num_neurons(layer) == 0:
            access.make_ffn_empty(layer)


def remove_pruned_units(model: nn.Module, masks: Masks, *, inplace: bool = False) -> nn.Module:
    """Dense smaller model keeping exactly the units set in ``masks`` (a copy unless inplace)."""
    target = model if inplace else copy.deepcopy(model)
    access = EncoderAccess(target)
    if masks.num_layers != len(access.layers):
        raise KpruneError(
            f"masks cover {masks.num_layers} layers but the model has {len(access.layers)}"
        )
    for layer in range(masks.num_layers):
        if access.attention_is_empty(layer) or access.ffn_is_empty(layer):
            raise KpruneError(f"layer {layer} already has an empty block; prune the original")
        prune_attention(access, layer, masks.head_keep[layer].cpu())
        prune_ffn(access, layer, masks.neuron_keep[layer].cpu())
    replace_empty_sublayers(access)
    for param in target.parameters():
        param.requires_grad_(False)
    return target


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters (embeddings and head included)."""
    return sum(p.numel() for p in model.parameters())
