"""The sublayer numbering and head -> context-dims layout every module relies on."""

import torch

from kprune.masks import Masks
from kprune.sublayer import (
    FFN,
    MHA,
    Sublayer,
    feature_gate,
    head_dims,
    head_dims_mask,
    kept_features,
    mask_gates,
    per_head,
    sublayer_count,
    sublayer_index,
)


def test_index_round_trips_and_alternates_mha_ffn():
    for layer in range(4):
        for kind in (MHA, FFN):
            sub = Sublayer(sublayer_index(layer, kind))
            assert (sub.layer, sub.kind) == (layer, kind)
            assert sub.is_ffn == (kind == FFN) and sub.is_mha == (kind == MHA)
    assert [Sublayer(k).kind for k in range(sublayer_count(2))] == [MHA, FFN, MHA, FFN]
    assert Sublayer(5).features_per_unit(8) == 1 and Sublayer(4).features_per_unit(8) == 8


def test_head_dims_mask_indices_and_per_head_agree():
    keep = torch.tensor([True, False, True])
    mask = head_dims_mask(keep, 4)
    assert mask.tolist() == [True] * 4 + [False] * 4 + [True] * 4
    dims = torch.nonzero(mask).flatten()
    assert torch.equal(head_dims(torch.nonzero(keep).flatten(), 4), dims)
    assert torch.equal(kept_features(keep, sublayer_index(0, MHA), 4), dims)
    assert kept_features(keep, sublayer_index(0, FFN), 4).tolist() == [0, 2]
    assert per_head(torch.arange(12.0), 4).sum(dim=1).tolist() == [6.0, 22.0, 38.0]
    gate = torch.tensor([0.5, 2.0])
    assert feature_gate(gate, sublayer_index(3, MHA), 2).tolist() == [0.5, 0.5, 2.0, 2.0]
    assert feature_gate(gate, sublayer_index(3, FFN), 2) is gate


def test_mask_gates_cover_every_sublayer_in_order():
    masks = Masks(
        torch.tensor([[True, False], [False, True]]),
        torch.tensor([[False, True, True], [True, False, False]]),
    )
    gates = mask_gates(masks, 2)
    assert list(gates) == list(range(sublayer_count(2)))
    assert gates[sublayer_index(0, MHA)].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert gates[sublayer_index(0, FFN)].tolist() == [0.0, 1.0, 1.0]
    assert gates[sublayer_index(1, MHA)].tolist() == [0.0, 0.0, 1.0, 1.0]
