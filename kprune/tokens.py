"""Where a batch's activations live: padded [B, T, d] as the model sees them, or packed [N, d]
(the N real tokens only). Everything in a sublayer except attention itself works token by token
(projections, GELU, LayerNorm, knowledge sums, Gram matrices), so a packed batch spends those
FLOPs on real tokens only; attention scatters its queries, keys and values into the padded shape
and gathers its context back. With random-order batches of short texts half the positions can be
padding, which is why calibration passes run packed.

Packing is exact only when the task head reads nothing but position 0 of each sequence and that
position is a real token (right padding): `can_pack` says so. A QA head reads every position,
padding included, so its padding rows must be computed as the model computes them.
"""

from __future__ import annotations

import torch


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[B, T] 1/0 mask -> [B, 1, 1, T] additive mask (0 for tokens, dtype-min for padding)."""
    mask = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - mask) * torch.finfo(dtype).min


def causal_additive_mask(
    attention_mask: torch.Tensor, dtype: torch.dtype, window: int | None = None
) -> torch.Tensor:
    """[B, T] 1/0 mask -> [B, 1, T, T] additive mask of a decoder: query t sees key j when j is a
    token, j <= t and (with a sliding ``window``) t - j < window; 0 where seen, dtype-min where
    not (never -inf, so a padding query that sees no token gives no NaN)."""
    seq = attention_mask.shape[1]
    positions = torch.arange(seq, device=attention_mask.device)
    offset = positions[:, None] - positions[None, :]  # query t minus key j
    seen = offset >= 0
    if window is not None:
        seen = seen & (offset < window)
    seen = seen[None, None] & attention_mask.bool()[:, None, None, :]
    zero = torch.zeros((), dtype=dtype, device=attention_mask.device)
    return torch.where(seen, zero, torch.finfo(dtype).min)


def can_pack(attention_mask: torch.Tensor, head_reads_first_position: bool) -> bool:
    """True when packing this batch changes no output the head reads."""
    return head_reads_first_position and bool(attention_mask[:, 0].bool().all())


class TokenLayout:
    """One batch's token positions, and whether its activations are packed.

    attention_mask: [B, T] (1 = token). packed=False keeps the padded [B, T, d] shape (the
    reference behaviour, and what whole-model callers pass around); packed=True requires
    `can_pack` (the caller knows the head).
    """

    def __init__(self, attention_mask: torch.Tensor, dtype: torch.dtype, packed: bool) -> None:
        self.token_mask = attention_mask.bool()
        self.batch, self.seq = (int(n) for n in attention_mask.shape)
        self.add_mask = additive_mask(attention_mask, dtype)
        if packed and not bool(self.token_mask[:, 0].all()):
            raise ValueError("a packed layout needs position 0 of every sequence to be a token")
        self.packed = packed
        # flat positions b*T + t of the real tokens, in row-major order
        self.index = torch.nonzero(self.token_mask.flatten()).flatten()
        # packed row of each sequence's position 0: the rows a first-position head reads
        lengths = self.token_mask.sum(dim=1)
        self.first_rows = torch.cumsum(lengths, dim=0) - lengths

    @property
    def num_tokens(self) -> int:
        return int(self.index.numel())

    def arrange(self, padded: torch.Tensor) -> torch.Tensor:
        """[B, T, c] -> this layout's activations ([N, c] when packed)."""
        if not self.packed:
            return padded
        return padded.reshape(self.batch * self.seq, -1).index_select(0, self.index)

    def padded(self, x: torch.Tensor) -> torch.Tensor:
        """This layout's activations -> [B, T, c]; padding rows are zeros when packed."""
        if not self.packed:
            return x
        flat = x.new_zeros(self.batch * self.seq, x.shape[-1]).index_copy(0, self.index, x)
        return flat.view(self.batch, self.seq, -1)

    def rows(self, x: torch.Tensor) -> torch.Tensor:
        """The real tokens' rows [N, c] of this layout's activations."""
        return x if self.packed else x[self.token_mask]

    def first(self, x: torch.Tensor) -> torch.Tensor:
        """Position 0 of each sequence, [B, c], from this layout's activations."""
        return x.index_select(0, self.first_rows) if self.packed else x[:, 0]
