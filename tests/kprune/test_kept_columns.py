"""Sublayer k's kept feature columns, reused after the search (kprune.methods.kprune.measure):
least-squares statistics over the kept columns equal the full statistics' kept block, and moving
the cached inputs past the cut sublayer from those columns equals running the cut sublayer."""

from __future__ import annotations

import pytest
import torch

from kprune import KpruneConfig
from kprune.arch import EncoderAccess
from kprune.forward import output_bias, sublayer_forward
from kprune.gram import GramAccumulator
from kprune.methods.budget import frozen_copy, prepare_copy
from kprune.methods.kprune.measure import KnowledgePass
from kprune.sublayer import kept_features
from kprune.surgery import prune_attention, prune_ffn
from tests.conftest import make_batches, tiny_model


def _pass(index: int):  # type: ignore[no-untyped-def]
    model, batches = tiny_model("bert", layers=2), make_batches(3, batch_size=6, seq=40)
    config = KpruneConfig(target_flops_ratio=0.5)
    run = prepare_copy(model, batches, config)
    passes = KnowledgePass(
        EncoderAccess(frozen_copy(model, "cpu")), run.access, run.batches, config
    )
    for j in range(index):
        done = passes.measure(j)
        passes.advance_student(j, done, torch.arange(done.features[0].shape[-1]))
    return run.access, passes, passes.measure(index)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_statistics_over_kept_columns_are_the_full_statistics_kept_block(index):
    access, passes, step = _pass(index)
    width = step.features[0].shape[-1]
    keep = torch.arange(width) % 3 != 1
    kept = torch.nonzero(keep).flatten()
    full = GramAccumulator()
    for layout, feats, target in zip(passes.layouts, step.features, step.targets):
        full.add(layout.rows(feats), target)
    assert full.gram is not None and full.cross is not None
    sub = passes.tuning_statistics(step, kept)
    assert sub.gram is not None and sub.cross is not None
    torch.testing.assert_close(sub.gram, full.gram[kept][:, kept], rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(sub.cross, full.cross[kept], rtol=1e-6, atol=1e-9)
    assert sub.target_energy == pytest.approx(full.target_energy)
    assert sub.rows == full.rows == sum(layout.num_tokens for layout in passes.layouts)


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_moving_past_the_cut_from_kept_columns_equals_running_the_cut_sublayer(index):
    access, passes, step = _pass(index)
    inputs = [x.clone() for x in passes.student_x]
    unit_keep = torch.ones(
        access.num_neurons(index // 2) if index % 2 else access.num_heads(index // 2),
        dtype=torch.bool,
    )
    unit_keep[::2] = False
    layer = index // 2
    weight = torch.randn_like(access.module(layer, "ffn_out" if index % 2 else "attn_out").weight)[
        :, kept_features(unit_keep, index, access.unit_width)
    ]
    if index % 2:
        prune_ffn(access, layer, unit_keep, weight)
    else:
        prune_attention(access, layer, unit_keep, weight)
    kept = kept_features(unit_keep, index, access.unit_width)
    passes.advance_student(index, step, kept)
    assert step.features == []  # freed once used
    with torch.no_grad():
        for x, moved, layout in zip(inputs, passes.student_x, passes.layouts):
            rerun = sublayer_forward(access, index, x, layout).output
            torch.testing.assert_close(moved, rerun, atol=1e-5, rtol=1e-5)
    assert output_bias(access, index).shape == (access.hidden_size,)
