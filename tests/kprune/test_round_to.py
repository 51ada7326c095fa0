"""`round_to` (BudgetFields): every method keeps aligned widths and still meets the FLOPs budget."""

import pytest
import torch

from kprune import ConfigError, EncoderAccess, make_config, prune
from kprune.search import round_down_keep
from tests.conftest import tiny_model
from tests.kprune.test_methods import labelled_batches

HEAD_SIZE = 8  # tests.conftest TINY: hidden 32, 4 heads


def test_round_down_keep_drops_the_lowest_scores():
    keep = torch.tensor([True, True, True, False, True, True])
    scores = torch.tensor([5.0, 1.0, 3.0, 9.0, 1.0, 4.0])
    rounded = round_down_keep(keep, scores, 4)
    # 5 kept -> 4: the lowest score is 1.0 at indices 1 and 4; on ties the later index goes
    assert rounded.tolist() == [True, True, True, False, False, True]
    assert round_down_keep(keep, scores, 1) is keep
    assert round_down_keep(rounded, scores, 4) is rounded  # already a multiple


@pytest.mark.slow
@pytest.mark.parametrize("method", ["kprune", "kwon", "uniform", "random"])
@pytest.mark.parametrize("round_to", [16, 32])
def test_round_to_keeps_the_budget_and_aligned_widths(method, round_to):
    model, batches = tiny_model("bert"), labelled_batches()
    config = make_config(method, target_flops_ratio=0.6, round_to=round_to)
    result = prune(model, batches, config)
    assert result.flops.achieved <= result.flops.target * (1 + 1e-9)
    assert result.flops.ratio <= 0.6 + 1e-9
    assert all(n % round_to == 0 for n in result.masks.neurons_per_layer())
    assert all(h * HEAD_SIZE % round_to == 0 for h in result.masks.heads_per_layer())
    access = EncoderAccess(result.model)  # the physical model has those widths too
    assert [access.num_neurons(i) for i in range(2)] == result.masks.neurons_per_layer()


@pytest.mark.slow
def test_without_round_to_nothing_changes():
    batches = labelled_batches()
    plain = prune(tiny_model("bert"), batches, make_config("kprune", target_flops_ratio=0.6))
    assert any(n % 16 for n in plain.masks.neurons_per_layer())  # the case rounding is for
    rounded = prune(
        tiny_model("bert"), batches, make_config("kprune", target_flops_ratio=0.6, round_to=8)
    )
    assert all(n % 8 == 0 for n in rounded.masks.neurons_per_layer())


@pytest.mark.parametrize("value", [0, 7, 12, 128, True, "8"])
def test_bad_round_to(value):
    with pytest.raises(ConfigError, match="round_to"):
        make_config("uniform", target_flops_ratio=0.5, round_to=value)
