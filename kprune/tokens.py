"""Where a batch's activations live: padded [B, T, d] as the model sees them, or packed [N, d]
(the N real tokens only). Everything in a sublayer except attention itself works token by token
(projections, GELU, LayerNorm, knowledge sums, Gram matrices), so a packed batch spends those
FLOPs on real tokens only. Attention needs a [B, T] shape, so a packed batch gathers its queries,
keys and values into a few length groups (`AttentionGroup`): its sequences sorted by length and
split so that each group is padded only to its own longest sequence. Attention is per sequence, so
grouping changes no result, and the batch itself (the unit of the predictive term's Fisher) is
unchanged. With random-order batches of short texts half the positions are padding and attention
is quadratic in the padded length, which is why calibration passes run packed.

Packing is exact only when the task head reads nothing but position 0 of each sequence and that
position is a real token (right padding): `can_pack` says so. A QA head reads every position,
padding included, so its padding rows must be computed as the model computes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Cost of one more attention group, in units of (padded positions)^2 of one sequence: roughly one
# call's fixed overhead (gather, kernel launch, backward nodes) against flash attention's cost per
# score on a CPU with d_h = 32. Only the grouping depends on it, never a result.
GROUP_OVERHEAD_POSITIONS_SQ = 1024


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


@dataclass(frozen=True)
class AttentionGroup:
    """Sequences of one packed batch that attend together, padded to the longest of them.

    gather: [batch * seq] packed row of each padded position; a padding position repeats its
    sequence's first row (a finite value that the additive mask hides as a key; its output as a
    query is never read, so its gradient is exactly zero)."""

    batch: int
    seq: int
    gather: torch.Tensor
    token_mask: torch.Tensor  # [batch, seq] bool
    add_mask: torch.Tensor  # [batch, 1, 1, seq]


def group_by_length(lengths: list[int]) -> list[list[int]]:
    """Split sequences (by index) into groups of similar length, minimising the attention cost
    sum(len(group) * max_len(group)^2) plus GROUP_OVERHEAD_POSITIONS_SQ per group (exact dynamic
    programme over the length-sorted order; batches hold tens of sequences)."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    count = len(order)
    best = [0.0] + [float("inf")] * count  # best[i]: cost of grouping the i shortest
    cut = [0] * (count + 1)
    for end in range(1, count + 1):
        longest = lengths[order[end - 1]]
        for start in range(end):
            cost = best[start] + (end - start) * longest**2 + GROUP_OVERHEAD_POSITIONS_SQ
            if cost < best[end]:
                best[end], cut[end] = cost, start
    groups: list[list[int]] = []
    end = count
    while end > 0:
        groups.append(order[cut[end] : end])
        end = cut[end]
    return groups[::-1]


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
        self._lengths = lengths
        self._dtype = dtype
        self._groups: tuple[list[AttentionGroup], torch.Tensor, torch.Tensor] | None = None

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

    def attention_groups(self) -> tuple[list[AttentionGroup], torch.Tensor, torch.Tensor]:
        """(groups, gather, rows): the length groups of a packed batch; the groups' gathers
        concatenated; for each packed row its row in the groups' padded outputs concatenated.
        Built once per layout."""
        if not self.packed:
            raise ValueError("attention groups are for packed layouts; a padded one attends whole")
        if self._groups is None:
            self._groups = self._build_groups()
        return self._groups

    def _build_groups(self) -> tuple[list[AttentionGroup], torch.Tensor, torch.Tensor]:
        device = self.index.device
        lengths = [int(n) for n in self._lengths]
        groups, rows = [], torch.empty(self.num_tokens, dtype=torch.long, device=device)
        offset = 0
        for members in group_by_length(lengths):
            seq = max(lengths[i] for i in members)
            positions = torch.arange(seq, device=device)
            member_lengths = self._lengths[members].to(device)
            token_mask = positions[None, :] < member_lengths[:, None]
            first = self.first_rows[members].to(device)
            # a padding position reads its sequence's first row (any finite row would do)
            gather = first[:, None] + torch.where(token_mask, positions[None, :], 0)
            groups.append(
                AttentionGroup(
                    batch=len(members),
                    seq=seq,
                    gather=gather.flatten(),
                    token_mask=token_mask,
                    add_mask=additive_mask(token_mask.long(), self._dtype),
                )
            )
            flat = offset + torch.arange(len(members) * seq, device=device).view(-1, seq)
            # packed rows of sequence i are first_rows[i] .. first_rows[i] + len_i - 1
            rows[gather[token_mask]] = flat[token_mask]
            offset += len(members) * seq
        return groups, torch.cat([group.gather for group in groups]), rows

    def rows(self, x: torch.Tensor) -> torch.Tensor:
        """The real tokens' rows [N, c] of this layout's activations."""
        return x if self.packed else x[self.token_mask]

    def first(self, x: torch.Tensor) -> torch.Tensor:
        """Position 0 of each sequence, [B, c], from this layout's activations."""
        return x.index_select(0, self.first_rows) if self.packed else x[:, 0]
