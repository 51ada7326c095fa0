"""Contracts every baseline method (kwon, uniform, random) shares with Kprune: budget, dense model,
input untouched, registry dispatch, preflight checks, determinism."""

import dataclasses
import math

import pytest
import torch

from kprune import (
    METHOD_CONFIGS,
    ConfigError,
    KpruneConfig,
    KwonConfig,
    ModelStateError,
    RandomConfig,
    UniformConfig,
    make_config,
    method_names,
    prune,
)
from kprune.arch import EncoderAccess
from kprune.forward import model_outputs
from kprune.methods.base_config import BudgetFields
from kprune.methods.random_ import random_masks
from kprune.methods.uniform import head_magnitudes, neuron_magnitudes, uniform_counts
from kprune.sublayer import mask_gates, sublayer_count
from tests.conftest import make_batches, tiny_model

CONFIGS = {"kwon": KwonConfig, "uniform": UniformConfig, "random": RandomConfig}
# (model kind, num_labels): classification, regression and QA heads.
MODELS = {
    "bert-cls": ("bert", 3),
    "roberta-cls": ("roberta", 3),
    "bert-reg": ("bert", 1),
    "bert-qa": ("qa", 2),
}


def labelled_batches(kind: str = "bert", num_labels: int = 3, num_batches: int = 3):
    """make_batches() plus seeded true labels of the task the model's head implies."""
    g = torch.Generator().manual_seed(7)
    out = []
    for batch in make_batches(num_batches):
        size, seq = batch["input_ids"].shape
        batch = dict(batch)
        if kind == "qa":
            batch["start_positions"] = torch.randint(0, seq, (size,), generator=g)
            batch["end_positions"] = torch.randint(0, seq, (size,), generator=g)
        elif num_labels == 1:
            batch["labels"] = torch.randn(size, generator=g)
        else:
            batch["labels"] = torch.randint(0, num_labels, (size,), generator=g)
        out.append(batch)
    return out


def task_outputs(model, batch):
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask")}
    with torch.no_grad():
        out = model(**inputs)
    if hasattr(out, "logits"):
        return out.logits
    return torch.stack([out.start_logits, out.end_logits], -1)


def _method_params(*methods):
    """Kwon runs a calibration pass and layer-wise tuning: over a second on a loaded box."""
    slow = pytest.mark.slow
    return [pytest.param(m, id=m, marks=slow if m == "kwon" else ()) for m in methods]


@pytest.mark.parametrize("model_id", sorted(MODELS))
@pytest.mark.parametrize("method", _method_params(*sorted(CONFIGS)))
@pytest.mark.parametrize("ratio", [0.8, 0.5, 0.2])
def test_meets_budget_and_leaves_input_unchanged(method, model_id, ratio):
    kind, num_labels = MODELS[model_id]
    model = tiny_model(kind, num_labels=num_labels)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batches = labelled_batches(kind, num_labels)
    result = prune(model, batches, CONFIGS[method](target_flops_ratio=ratio))
    assert result.method == method
    assert result.flops.ratio <= ratio
    assert result.flops.target_ratio == pytest.approx(ratio)
    assert result.flops.ratio > ratio - 0.1, "budget badly under-used"
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert result.model is not model
    out = task_outputs(result.model, batches[0])
    assert torch.isfinite(out).all()
    assert [s.index for s in result.sublayers] == [0, 1, 2, 3]
    heads = [s.units_kept for s in result.sublayers if s.kind == "mha"]
    assert heads == result.masks.heads_per_layer()


@pytest.mark.parametrize("method", _method_params(*sorted(CONFIGS)))
def test_ratio_one_keeps_everything(method):
    result = prune(tiny_model(), labelled_batches(), CONFIGS[method](target_flops_ratio=1.0))
    assert result.flops.ratio == 1.0
    assert bool(result.masks.head_keep.all()) and bool(result.masks.neuron_keep.all())


@pytest.mark.parametrize("method", ["uniform", "random"])
def test_dense_model_equals_masked_original(method):
    model, batches = tiny_model("roberta", layers=3), labelled_batches("roberta")
    result = prune(model, batches, CONFIGS[method](target_flops_ratio=0.3))
    gates = mask_gates(result.masks, EncoderAccess(model).head_size)
    with torch.no_grad():
        masked = model_outputs(EncoderAccess(model), batches[0], gates)
    torch.testing.assert_close(task_outputs(result.model, batches[0]), masked)


def test_uniform_keeps_same_fraction_by_magnitude():
    model = tiny_model(layers=3)
    result = prune(model, labelled_batches(), UniformConfig(target_flops_ratio=0.4))
    heads, neurons = result.masks.heads_per_layer(), result.masks.neurons_per_layer()
    assert len(set(heads)) == 1 and len(set(neurons)) == 1
    assert heads[0] == round(neurons[0] * 4 / 64)
    access = EncoderAccess(model)
    for scores, keep in (
        (head_magnitudes(access), result.masks.head_keep),
        (neuron_magnitudes(access), result.masks.neuron_keep),
    ):
        for layer in range(3):
            kept, dropped = scores[layer][keep[layer]], scores[layer][~keep[layer]]
            assert kept.numel() == 0 or dropped.numel() == 0 or kept.min() >= dropped.max()


def test_uniform_counts_take_the_largest_fitting_fraction():
    # 2 layers, 4 heads (cost 10), 8 neurons (cost 1): a layer costs 4·10 + 8 = 48.
    assert uniform_counts(2, 4, 8, 10.0, 1.0, 96.0) == (4, 8)
    assert uniform_counts(2, 4, 8, 10.0, 1.0, 48.0) == (2, 4)  # 2·(20 + 4) = 48
    assert uniform_counts(2, 4, 8, 10.0, 1.0, 47.0) == (2, 3)  # round(1.5) = 2 heads: 46 fits
    assert uniform_counts(2, 4, 8, 10.0, 1.0, 45.0) == (1, 2)
    assert uniform_counts(2, 4, 8, 10.0, 1.0, 1.0) == (0, 0)


def test_random_is_seeded_and_within_budget():
    model, batches = tiny_model(), labelled_batches()
    a = prune(model, batches, RandomConfig(target_flops_ratio=0.4, seed=3))
    b = prune(model, batches, RandomConfig(target_flops_ratio=0.4, seed=3))
    c = prune(model, batches, RandomConfig(target_flops_ratio=0.4, seed=4))
    assert torch.equal(a.masks.head_keep, b.masks.head_keep)
    assert torch.equal(a.masks.neuron_keep, b.masks.neuron_keep)
    assert not torch.equal(a.masks.neuron_keep, c.masks.neuron_keep)
    torch.testing.assert_close(task_outputs(a.model, batches[0]), task_outputs(b.model, batches[0]))
    for seed in range(20):
        masks = random_masks(3, 4, 16, 10.0, 1.0, 50.0, seed=seed)
        assert 10 * sum(masks.heads_per_layer()) + sum(masks.neurons_per_layer()) < 50


@pytest.mark.parametrize("method", _method_params(*sorted(CONFIGS)))
def test_global_rng_untouched(method):
    model, batches = tiny_model(), labelled_batches()  # tiny_model seeds the global RNG itself
    torch.manual_seed(123)
    state = torch.get_rng_state()
    prune(model, batches, CONFIGS[method](target_flops_ratio=0.5, seed=3))
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.slow
def test_kwon_same_seed_same_result():
    model, batches = tiny_model(), labelled_batches()
    a = prune(model, batches, KwonConfig(target_flops_ratio=0.4))
    b = prune(model, batches, KwonConfig(target_flops_ratio=0.4))
    assert torch.equal(a.masks.head_keep, b.masks.head_keep)
    assert torch.equal(a.masks.neuron_keep, b.masks.neuron_keep)
    torch.testing.assert_close(task_outputs(a.model, batches[0]), task_outputs(b.model, batches[0]))


def test_registry_and_variants_coexist():
    assert {"kprune", "kwon", "uniform", "random"} <= set(METHOD_CONFIGS)
    assert {"kprune-no-tuning", "kwon", "uniform", "random"} <= set(method_names())
    assert make_config("kwon", target_flops_ratio=0.3) == KwonConfig(target_flops_ratio=0.3)
    assert make_config("kprune-no-tuning").tune_weights is False
    for name, config_class in CONFIGS.items():
        assert METHOD_CONFIGS[name] is config_class


@pytest.mark.parametrize("method", _method_params(*sorted(CONFIGS)))
def test_preflight_checks_and_progress_callback(method):
    config = CONFIGS[method](target_flops_ratio=0.5)
    with pytest.raises(ModelStateError, match="training mode"):
        prune(tiny_model().train(), labelled_batches(), config)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA"):
            prune(tiny_model(), labelled_batches(), CONFIGS[method](device="cuda"))
    seen = []
    prune(tiny_model(), labelled_batches(), config, on_sublayer=seen.append)
    assert [s.index for s in seen] == list(range(sublayer_count(2)))


@pytest.mark.parametrize("method", sorted(CONFIGS))
@pytest.mark.parametrize("ratio", [0.0, -0.1, 1.5, math.nan, "0.5"])
def test_bad_ratio(method, ratio):
    with pytest.raises(ConfigError, match="target_flops_ratio"):
        CONFIGS[method](target_flops_ratio=ratio)


@pytest.mark.parametrize("config_class", [KpruneConfig, *CONFIGS.values()])
def test_every_config_shares_the_budget_fields(config_class):
    assert issubclass(config_class, BudgetFields)
    shared = {f.name: f.default for f in dataclasses.fields(BudgetFields)}
    # Defaults live in BudgetFields only: no method config redefines one.
    own = {f.name: f.default for f in dataclasses.fields(config_class)}
    assert {name: own[name] for name in shared} == shared
    with pytest.raises(ConfigError, match="device"):
        config_class(device="tpu")
    with pytest.raises(ConfigError, match="seq_len"):
        config_class(seq_len=0)


def test_bad_kwon_fields():
    with pytest.raises(ConfigError, match="damping"):
        KwonConfig(damping=-1.0)
    with pytest.raises(ConfigError, match="num_samples"):
        KwonConfig(num_samples=0)
    with pytest.raises(ConfigError, match="device"):
        UniformConfig(device="tpu")
    with pytest.raises(ConfigError, match="seq_len"):
        RandomConfig(seq_len=0)
