"""Self-attention of a pruned layer in an encoder whose relative-position bias is computed once
for all heads and shared by every layer (MPNet): the layer adds only its kept heads' slices.

It computes what the Hugging Face module computes on those heads; it decides nothing.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


class HeadSubsetAttention(nn.Module):
    """MPNet-style self-attention over a subset of the original heads.

    Children keep the Hugging Face names (q, k, v, o, dropout), so module paths and state-dict
    keys stay those of `MPNetSelfAttention`; the extra buffer ``kept_heads`` [heads] (int64,
    ascending) holds the original index of each remaining head. It is saved with the weights,
    so a reloaded model slices the shared bias exactly as the pruned one did, and the ONNX
    exporter records it as a constant Gather index.
    """

    kept_heads: torch.Tensor

    def __init__(
        self,
        q: nn.Linear,
        k: nn.Linear,
        v: nn.Linear,
        o: nn.Linear,
        dropout: nn.Module,
        head_size: int,
        kept_heads: torch.Tensor,
    ) -> None:
        super().__init__()
        if kept_heads.dim() != 1 or q.out_features != kept_heads.numel() * head_size:
            raise ValueError(
                f"{kept_heads.numel()} kept heads of size {head_size} do not match a query "
                f"projection with {q.out_features} outputs"
            )
        self.q, self.k, self.v, self.o, self.dropout = q, k, v, o, dropout
        self.attention_head_size = int(head_size)
        self.register_buffer("kept_heads", kept_heads.to(torch.long).clone())

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_bias: torch.Tensor | None = None,
        output_attentions: bool = False,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, ...]:
        """hidden_states [B, T, d]; position_bias [B, H_original, T, T] (all heads, additive);
        attention_mask additive, broadcastable to [B, heads, T, T]. Returns (out,) or
        (out, probabilities), as `MPNetSelfAttention` does."""
        # view(..., -1, d_h) as in transformers, so harness.export.heads can pin the head count
        shape = (*hidden_states.shape[:-1], -1, self.attention_head_size)
        q = self.q(hidden_states).view(shape).transpose(1, 2)
        k = self.k(hidden_states).view(shape).transpose(1, 2)
        v = self.v(hidden_states).view(shape).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
        if position_bias is not None:
            scores = scores + position_bias.index_select(1, self.kept_heads)
        if attention_mask is not None:
            scores = scores + attention_mask
        probs = self.dropout(nn.functional.softmax(scores, dim=-1))
        context = torch.matmul(probs, v).transpose(1, 2).contiguous()
        out = self.o(context.view(*context.shape[:-2], -1))
        return (out, probs) if output_attentions else (out,)


def keep_heads(module: Any, kept: torch.Tensor, num_heads: int, head_size: int) -> nn.Module:
    """The self-attention a layer uses once its q/k/v/o were sliced to ``kept`` [n] (indices
    among ``module``'s heads before the cut; ``num_heads``: the unpruned count).

    A HeadSubsetAttention gets its ``kept_heads`` composed in place; a module holding every
    original head (the HF one) stays as it is when ``kept`` is all of them, and otherwise hands
    its projections to a new HeadSubsetAttention.
    """
    if isinstance(module, HeadSubsetAttention):
        module.kept_heads = module.kept_heads.index_select(0, kept.to(module.kept_heads.device))
        return module
    if torch.equal(kept.cpu(), torch.arange(num_heads)):
        return module  # type: ignore[no-any-return]
    kept_heads = kept.to(device=module.q.weight.device, dtype=torch.long)
    return HeadSubsetAttention(
        module.q, module.k, module.v, module.o, module.dropout, head_size, kept_heads
    )


def layer_bias(shared: torch.Tensor, module: nn.Module) -> torch.Tensor:
    """The slices [B, heads, T, T] of the shared bias [B, H, T, T] that ``module`` adds."""
    if isinstance(module, HeadSubsetAttention):
        return shared.index_select(1, module.kept_heads)
    return shared
