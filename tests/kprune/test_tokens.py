"""Packed activations (kprune.tokens): the same numbers as the padded computation on every real
token, the same gate gradients, and the same Kprune masks; packing only where it is exact."""

from __future__ import annotations

import pytest
import torch

from kprune import KpruneConfig, prune
from kprune.arch import EncoderAccess
from kprune.forward import gradient_gates, sublayer_forward
from kprune.tokens import TokenLayout, can_pack
from tests.conftest import assert_packed_pass_equals_padded, make_batches, tiny_model


def _mask(lengths: list[int], seq: int) -> torch.Tensor:
    return (torch.arange(seq)[None, :] < torch.tensor(lengths)[:, None]).long()


def test_arrange_then_pad_is_the_identity_on_tokens_and_zero_on_padding():
    mask = _mask([3, 1, 5], 5)
    layout = TokenLayout(mask, torch.float32, packed=True)
    padded = torch.randn(3, 5, 4)
    packed = layout.arrange(padded)
    assert packed.shape == (9, 4) and layout.num_tokens == 9
    back = layout.padded(packed)
    torch.testing.assert_close(back[mask.bool()], padded[mask.bool()], rtol=0, atol=0)
    assert bool((back[~mask.bool()] == 0).all())
    torch.testing.assert_close(layout.rows(packed), padded[mask.bool()], rtol=0, atol=0)
    torch.testing.assert_close(layout.first(packed), padded[:, 0], rtol=0, atol=0)
    # the padded layout's rows are the same real-token rows, in the same order
    plain = TokenLayout(mask, torch.float32, packed=False)
    torch.testing.assert_close(plain.rows(padded), packed, rtol=0, atol=0)


def test_packing_is_only_offered_where_it_is_exact():
    right, left = _mask([3, 2], 4), _mask([3, 2], 4).flip(1)
    assert can_pack(right, head_reads_first_position=True)
    assert not can_pack(right, head_reads_first_position=False)  # QA reads padding positions
    assert not can_pack(left, head_reads_first_position=True)  # position 0 is padding
    with pytest.raises(ValueError, match="position 0"):
        TokenLayout(left, torch.float32, packed=True)
    assert not EncoderAccess(tiny_model("qa")).head_reads_first_position
    assert EncoderAccess(tiny_model("distilbert")).head_reads_first_position


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_packed_sublayer_equals_padded_on_real_tokens(index):
    access = EncoderAccess(tiny_model("bert"))
    batch = make_batches(1)[0]
    x = access.embed(batch).detach()
    padded_layout = TokenLayout(batch["attention_mask"], x.dtype, packed=False)
    packed_layout = TokenLayout(batch["attention_mask"], x.dtype, packed=True)
    gate = torch.rand(gradient_gates(access, index, "cpu")[index].shape)
    with torch.no_grad():
        a = sublayer_forward(access, index, x, padded_layout, gate)
        b = sublayer_forward(access, index, packed_layout.arrange(x), packed_layout, gate)
    for field in ("features", "pre_norm", "output"):
        torch.testing.assert_close(
            padded_layout.rows(getattr(a, field)), getattr(b, field), atol=1e-5, rtol=1e-5
        )


@pytest.mark.parametrize("kind", ["bert", "roberta", "distilbert"])
def test_packed_pass_gives_the_padded_pass_outputs_features_and_gate_gradients(kind):
    """Includes the last FFN's head-rows-only gradient path (kprune.forward._last_ffn_for_head)."""
    access = EncoderAccess(tiny_model(kind))
    assert_packed_pass_equals_padded(access, make_batches(1)[0], start=1)


@pytest.mark.parametrize("kind", ["bert", "qa"])
@pytest.mark.parametrize("ratio", [0.7, 0.4])
def test_packed_kprune_gives_the_padded_masks_and_knowledge(kind, ratio):
    model, batches = tiny_model(kind, layers=3), make_batches(4, batch_size=8, seq=16)
    runs = [
        prune(model, batches, KpruneConfig(target_flops_ratio=ratio, pack_tokens=packed))
        for packed in (False, True)
    ]
    padded, packed = runs
    assert torch.equal(padded.masks.head_keep, packed.masks.head_keep)
    assert torch.equal(padded.masks.neuron_keep, packed.masks.neuron_keep)
    for a, b in zip(padded.sublayers, packed.sublayers):
        assert a.predictive_total == pytest.approx(b.predictive_total, rel=1e-4, abs=1e-9)
        assert a.representational_total == pytest.approx(b.representational_total, rel=1e-4)
        assert set(b.phase_seconds) >= {"forward", "backward", "knowledge", "search", "cut"}


def test_length_groups_partition_the_batch_and_split_only_where_it_pays():
    from kprune.tokens import group_by_length

    lengths = [60, 4, 64, 5, 8, 62]
    groups = group_by_length(lengths)
    assert sorted(i for g in groups for i in g) == list(range(6))
    assert [sorted(lengths[i] for i in g) for g in groups] == [[4, 5, 8], [60, 62, 64]]
    # equal (or short) lengths: another group would only add its overhead
    assert len(group_by_length([30] * 8)) == 1
    assert len(group_by_length([3, 5, 12, 9])) == 1


def test_attention_groups_route_every_packed_row_back_to_itself():
    mask = _mask([60, 4, 64, 5, 8, 62], 64)
    layout = TokenLayout(mask, torch.float32, packed=True)
    groups, gather, rows = layout.attention_groups()
    assert len(groups) == 2
    packed = torch.randn(layout.num_tokens, 3)
    padded_groups = packed.index_select(0, gather)
    torch.testing.assert_close(padded_groups.index_select(0, rows), packed, rtol=0, atol=0)
    for group in groups:  # padded to its own longest sequence, masks per sequence
        assert group.seq == int(group.token_mask.sum(dim=1).max())
        assert group.gather.numel() == group.batch * group.seq
    with pytest.raises(ValueError, match="packed"):
        TokenLayout(mask, torch.float32, packed=False).attention_groups()


@pytest.mark.parametrize("kind", ["bert", "mpnet"])
def test_grouped_attention_gives_the_padded_outputs_features_and_gate_gradients(kind):
    """Long ragged batches, so packed batches attend in more than one length group."""
    access = EncoderAccess(tiny_model(kind))
    batch = make_batches(1, batch_size=8, seq=64, seed=3)[0]
    layout = TokenLayout(batch["attention_mask"], torch.float32, packed=True)
    assert len(layout.attention_groups()[0]) > 1
    assert_packed_pass_equals_padded(access, batch, start=0)


@pytest.mark.parametrize("ratio", [0.6, 0.3])
def test_grouped_kprune_gives_the_full_pass_masks(ratio):
    """The fast loop (cached inputs, packed, grouped attention, kept-column statistics) against
    the official code's loop (a full padded pass every step) on long ragged batches."""
    model = tiny_model("bert", layers=3)
    batches = make_batches(3, batch_size=8, seq=64, seed=5)
    fast = prune(model, batches, KpruneConfig(target_flops_ratio=ratio))
    full = KpruneConfig(target_flops_ratio=ratio, cache_inputs=False, pack_tokens=False)
    reference = prune(model, batches, full)
    assert torch.equal(fast.masks.head_keep, reference.masks.head_keep)
    assert torch.equal(fast.masks.neuron_keep, reference.masks.neuron_keep)
    # the refits agree loosely only: this random tiny model's attention Gram matrices are ill
    # conditioned (about 2e7 at sublayer 4), so float32 rounding in attention moves the refit's
    # residual by up to ~1e-3 relative
    for a, b in zip(fast.sublayers, reference.sublayers):
        assert a.residual_after == pytest.approx(b.residual_after, rel=1e-2, abs=1e-9)
