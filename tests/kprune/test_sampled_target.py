"""predictive_target="sampled": labels drawn once from the teacher's softmax(z/T), scored by the
student's cross-entropy. Its gradient estimates the KL's gradient without bias, it gives the first
sublayer a predictive signal (the KL's is zero there), it is reproducible under the run's seed,
and the kinds without one distribution per sample refuse it by name.
"""

from __future__ import annotations

import pytest
import torch

from kprune import ConfigError, KpruneConfig, make_config, prune
from kprune.arch import EncoderAccess
from kprune.methods.budget import frozen_copy, prepare_copy
from kprune.methods.kprune.losses import TASK_LOSSES, task_loss
from kprune.methods.kprune.measure import KnowledgePass
from tests.conftest import make_batches, tiny_llama, tiny_model


def test_the_sampled_gradient_averages_to_the_kl_gradient():
    g = torch.Generator().manual_seed(0)
    teacher, t, draws = torch.randn(1, 9, generator=g), 2.0, 200_000
    student = torch.randn(1, 9, generator=g, requires_grad=True)
    sampled, soft = task_loss("causal_lm", "sampled"), TASK_LOSSES["causal_lm"]
    torch.manual_seed(1)
    labels = sampled.target(teacher.expand(draws, -1), t)
    assert labels.shape == (draws,) and labels.dtype == torch.int64
    (mean_grad,) = torch.autograd.grad(sampled.loss(student.expand(draws, -1), labels, t), student)
    (kl_grad,) = torch.autograd.grad(soft.loss(student, soft.target(teacher, t), t), student)
    torch.testing.assert_close(mean_grad, kl_grad, atol=0.01, rtol=0.0)
    assert kl_grad.abs().max() > 0.1  # the comparison is not between two zeros


def _first_pass_predictive(target: str) -> dict[int, torch.Tensor]:
    model, batches = tiny_llama(2), make_batches(2)
    config = KpruneConfig(target_flops_ratio=0.5, predictive_target=target)  # type: ignore[arg-type]
    run = prepare_copy(model, batches, config)
    passes = KnowledgePass(
        EncoderAccess(frozen_copy(model, "cpu")), run.access, run.batches, config
    )
    torch.manual_seed(0)
    return passes.measure(0).knowledge.predictive


def test_sampled_labels_give_the_first_sublayer_a_predictive_signal():
    soft, sampled = _first_pass_predictive("soft"), _first_pass_predictive("sampled")
    for index in soft:
        # KL(teacher || student) at the teacher: zero up to float noise (spec §11.1 pitfall 1)
        assert float(soft[index].max()) < 1e-10
        assert float(sampled[index].min()) > 1e3 * float(soft[index].max())


def test_sampled_pruning_is_reproducible_under_the_seed_and_meets_the_budget():
    model, batches = tiny_llama(2), make_batches(2)
    config = KpruneConfig(target_flops_ratio=0.5, predictive_target="sampled")
    first, second = prune(model, batches, config), prune(model, batches, config)
    assert torch.equal(first.masks.head_keep, second.masks.head_keep)
    assert torch.equal(first.masks.neuron_keep, second.masks.neuron_keep)
    assert first.flops.ratio <= 0.5


def test_sampled_classification_prunes():
    result = prune(
        tiny_model("bert"),
        make_batches(2),
        KpruneConfig(target_flops_ratio=0.5, predictive_target="sampled"),
    )
    assert result.flops.ratio <= 0.5


@pytest.mark.parametrize("kind", ["qa", "regression"])
def test_kinds_without_a_distribution_per_sample_refuse_sampled_targets(kind):
    with pytest.raises(ConfigError, match=f"the {kind} task has none.*causal_lm, classification"):
        task_loss(kind, "sampled")


def test_an_unknown_predictive_target_is_refused():
    with pytest.raises(ConfigError, match="predictive_target='hard'; use soft or sampled"):
        KpruneConfig(predictive_target="hard")  # type: ignore[arg-type]


def test_the_sampled_variants_pin_the_target_and_tuning():
    assert make_config("kprune-sampled").predictive_target == "sampled"
    assert make_config("kprune-sampled").tune_weights is True
    untuned = make_config("kprune-sampled-no-tuning")
    assert (untuned.predictive_target, untuned.tune_weights) == ("sampled", False)
    assert make_config("kprune").predictive_target == "soft"  # the reference stays the default
