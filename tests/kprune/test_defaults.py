"""Kprune's defaults are the official code's (spec §9, issue 10): a change here is deliberate."""

from __future__ import annotations

import pytest

from kprune import KpruneConfig, prune
from kprune.errors import ConfigError
from tests.conftest import make_batches, tiny_model


def test_kprune_defaults_match_the_official_code():
    config = KpruneConfig()
    assert config.head_weight == 64.0  # mu = 64 for every model, not d_h
    assert config.pred_weight == 1.0
    assert config.rep_weight == 2.5e-4
    assert config.temperature == 2.0
    assert config.tune_weights is True
    assert config.seed == 0


def test_head_weight_d_h_is_an_explicit_choice_and_none_is_refused():
    assert KpruneConfig(head_weight="d_h").head_weight == "d_h"
    with pytest.raises(ConfigError, match="d_h"):
        KpruneConfig(head_weight=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="head_weight"):
        KpruneConfig(head_weight=-1.0)


def test_mu_d_h_equals_the_same_number_given_explicitly():
    model, batches = tiny_model("bert"), make_batches()
    d_h = model.config.hidden_size // model.config.num_attention_heads
    by_name = prune(model, batches, KpruneConfig(target_flops_ratio=0.5, head_weight="d_h"))
    by_value = prune(model, batches, KpruneConfig(target_flops_ratio=0.5, head_weight=float(d_h)))
    assert (by_name.masks.head_keep == by_value.masks.head_keep).all()
    assert (by_name.masks.neuron_keep == by_value.masks.neuron_keep).all()
