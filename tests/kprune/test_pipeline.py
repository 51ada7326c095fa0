import math

import pytest
import torch

from kprune import (
    CalibrationError,
    ConfigError,
    KpruneConfig,
    ModelStateError,
    UnsupportedModelError,
    load_pruned,
    prune,
    save_pruned,
)
from kprune.arch import EncoderAccess
from kprune.forward import model_outputs
from kprune.sublayer import mask_gates
from tests.conftest import make_batches, tiny_model

pytestmark = pytest.mark.slow


def _logits(model, batch):
    with torch.no_grad():
        out = model(**batch)
    return (
        out.logits
        if hasattr(out, "logits")
        else torch.stack([out.start_logits, out.end_logits], -1)
    )


@pytest.mark.parametrize("kind", ["bert", "roberta", "distilbert"])
@pytest.mark.parametrize("ratio", [0.8, 0.5, 0.2])
def test_reaches_target_and_leaves_input_unchanged(kind, ratio):
    model = tiny_model(kind)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = prune(model, make_batches(), KpruneConfig(target_flops_ratio=ratio))
    assert result.flops.ratio <= ratio
    assert result.flops.achieved < result.flops.target
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert result.model is not model
    assert _logits(result.model, make_batches(1)[0]).shape[-1] == 3


def test_untuned_dense_model_equals_masked_original():
    model = tiny_model("bert", layers=3)
    batches = make_batches()
    result = prune(model, batches, KpruneConfig(target_flops_ratio=0.3, tune_weights=False))
    assert 0 in result.masks.heads_per_layer() or 0 in result.masks.neurons_per_layer()
    gates = mask_gates(result.masks, EncoderAccess(model).head_size)
    with torch.no_grad():
        masked = model_outputs(EncoderAccess(model), batches[0], gates)
    torch.testing.assert_close(_logits(result.model, batches[0]), masked, atol=1e-5, rtol=1e-5)


def test_least_squares_lowers_reconstruction_error():
    result = prune(tiny_model("bert"), make_batches(), KpruneConfig(target_flops_ratio=0.6))
    tuned = [s for s in result.sublayers if s.units_kept > 0]
    assert tuned and all(s.residual_after <= s.residual_before for s in tuned)
    assert any(s.residual_after < 0.9 * s.residual_before for s in tuned)
    assert result.untuned_sublayers == ()


def test_predictive_knowledge_is_zero_first_then_not():
    result = prune(tiny_model("bert"), make_batches(), KpruneConfig(target_flops_ratio=0.5))
    first, *rest = result.sublayers
    assert first.predictive_total < 1e-12 * max(first.representational_total, 1e-30) + 1e-20
    assert all(s.predictive_total > 0 for s in rest)


@pytest.mark.parametrize(
    "kind,num_labels",
    [("bert", 3), ("bert", 1), ("qa", 2)],
    ids=["classification", "regression", "qa"],
)
def test_every_task_kind_drives_the_scores_and_prunes_to_the_masked_model(kind, num_labels):
    model, batches = tiny_model(kind, num_labels=num_labels), make_batches()
    tuned = prune(model, batches, KpruneConfig(target_flops_ratio=0.5))
    assert tuned.flops.ratio <= 0.5
    assert torch.isfinite(_logits(tuned.model, batches[0])).all()
    # the task's own loss (classification KL, regression MSE, QA start/end KL) reaches the
    # scores: nothing is pruned below sublayer 0, so its predictive term is zero, and it is not
    # zero once the student differs from the teacher
    first, *rest = tuned.sublayers
    assert first.predictive_total < 1e-12 * max(first.representational_total, 1e-30) + 1e-20
    assert all(s.predictive_total > 0 for s in rest)
    # without the refit, the dense pruned model is the original under the chosen masks
    plain = prune(model, batches, KpruneConfig(target_flops_ratio=0.5, tune_weights=False))
    gates = mask_gates(plain.masks, EncoderAccess(model).head_size)
    with torch.no_grad():
        masked = model_outputs(EncoderAccess(model), batches[0], gates)
    torch.testing.assert_close(_logits(plain.model, batches[0]), masked, atol=1e-5, rtol=1e-5)


def test_same_seed_same_masks_and_cached_equals_full_pass():
    model, batches = tiny_model("bert"), make_batches()
    a = prune(model, batches, KpruneConfig(target_flops_ratio=0.4))
    b = prune(model, batches, KpruneConfig(target_flops_ratio=0.4))
    c = prune(model, batches, KpruneConfig(target_flops_ratio=0.4, cache_inputs=False))
    for other in (b, c):
        assert torch.equal(a.masks.head_keep, other.masks.head_keep)
        assert torch.equal(a.masks.neuron_keep, other.masks.neuron_keep)
    torch.testing.assert_close(_logits(a.model, batches[0]), _logits(c.model, batches[0]))


def test_global_rng_untouched_and_masks_deterministic_for_a_seed():
    model, batches = tiny_model("bert"), make_batches()  # tiny_model seeds the global RNG itself
    config = KpruneConfig(target_flops_ratio=0.4, seed=3)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = prune(model, batches, config)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(456)  # another caller RNG state must not change the result
    b = prune(model, batches, config)
    assert torch.equal(a.masks.head_keep, b.masks.head_keep)
    assert torch.equal(a.masks.neuron_keep, b.masks.neuron_keep)
    assert torch.equal(_logits(a.model, batches[0]), _logits(b.model, batches[0]))


@pytest.mark.gpu
def test_cuda_rng_untouched_on_a_cuda_run():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    model, batches = tiny_model("bert"), make_batches()
    torch.cuda.manual_seed_all(123)
    cpu, cuda = torch.get_rng_state(), torch.cuda.get_rng_state()
    prune(model, batches, KpruneConfig(target_flops_ratio=0.4, device="cuda"))
    assert torch.equal(torch.get_rng_state(), cpu)
    assert torch.equal(torch.cuda.get_rng_state(), cuda)


def test_save_load_round_trip(tmp_path):
    result = prune(
        tiny_model("roberta", layers=3), make_batches(), KpruneConfig(target_flops_ratio=0.3)
    )
    save_pruned(result.model, tmp_path / "pruned")
    loaded = load_pruned(tmp_path / "pruned")
    batch = make_batches(1)[0]
    assert torch.equal(_logits(loaded, batch), _logits(result.model, batch))


def test_ratio_one_keeps_everything():
    result = prune(tiny_model("bert"), make_batches(), KpruneConfig(target_flops_ratio=1.0))
    assert result.flops.ratio == 1.0


@pytest.mark.parametrize("ratio", [0.0, -0.1, 1.5, math.nan, "0.5"])
def test_bad_ratio(ratio):
    with pytest.raises(ConfigError, match="target_flops_ratio"):
        KpruneConfig(target_flops_ratio=ratio)


def test_bad_calibration_and_models():
    model = tiny_model("bert")
    with pytest.raises(CalibrationError, match="empty"):
        prune(model, [], KpruneConfig())
    batch = make_batches(1)[0]
    with pytest.raises(CalibrationError, match="attention_mask"):
        prune(model, [{"input_ids": batch["input_ids"]}], KpruneConfig())
    with pytest.raises(ModelStateError, match="training mode"):
        prune(tiny_model("bert").train(), make_batches(), KpruneConfig())
    with pytest.raises(UnsupportedModelError, match="BertModel"):
        prune(model.bert, make_batches(), KpruneConfig())
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA"):
            prune(model, make_batches(), KpruneConfig(device="cuda"))
