"""KCM (Nova, Dai & Schuurmans 2023): R2, D2 and R2D2 on hand-made cases, top-k under the FLOPs
budget with every head kept, the unreachable-budget error, rescaling, and the method contracts
(determinism, input untouched, masked original == dense pruned model, registry)."""

import math

import pytest
import torch

from kprune import (
    METHOD_CONFIGS,
    BudgetUnreachableError,
    ConfigError,
    KcmConfig,
    KpruneError,
    make_config,
    prune,
)
from kprune.arch import EncoderAccess
from kprune.calibration import mean_sequence_length, prepare_batches
from kprune.flops import encoder_flops, head_flops
from kprune.forward import model_outputs
from kprune.methods.budget import prepare_copy
from kprune.methods.kcm.data_driven import data_driven_scores
from kprune.methods.kcm.method import plan_kcm
from kprune.methods.kcm.ranking import combine_ranks, normalized_ranks, rank_neurons
from kprune.methods.kcm.representative import (
    gaussian_kernel,
    neuron_weight_vectors,
    representative_scores,
)
from kprune.methods.kcm.selection import select_neurons
from kprune.sublayer import feature_gates, mask_gates, sublayer_count
from tests.conftest import make_batches, tiny_model
from tests.kprune.test_methods import MODELS, labelled_batches, task_outputs

HEADS, NEURONS, LAYERS = 4, 64, 2  # tests.conftest TINY


def lowest_reachable(batches) -> float:
    """Kept ratio with every head kept and every neuron removed, at the batches' mean length."""
    s = mean_sequence_length(prepare_batches(batches, "cpu"))
    heads = LAYERS * HEADS * head_flops(s, 32, 8)
    return heads / encoder_flops([HEADS] * LAYERS, [NEURONS] * LAYERS, s, 32, 8)


# --- R2, D2, R2D2 on known answers ---------------------------------------------------------------


def test_r2_ranks_a_duplicated_vector_as_redundant_and_an_isolated_one_first():
    g = torch.Generator().manual_seed(0)
    vectors = torch.randn(12, 7, generator=g)
    vectors[8] = vectors[3]  # neuron 8 duplicates neuron 3
    vectors[0] = vectors[0] * 10.0  # far from every other vector
    scores = representative_scores(vectors, None, tolerance=1e-3, max_iterations=200)
    assert set(torch.argsort(scores)[:2].tolist()) == {3, 8}
    assert int(torch.argmax(scores)) == 0
    assert float(scores[3]) == pytest.approx(float(scores[8]), rel=1e-5)
    kernel = gaussian_kernel(vectors, None)
    torch.testing.assert_close(kernel.diagonal(), torch.ones(12))
    torch.testing.assert_close(kernel, kernel.T)


def test_r2_of_a_model_flags_a_copied_neuron():
    model = tiny_model()
    layer = model.bert.encoder.layer[0]
    with torch.no_grad():
        layer.intermediate.dense.weight[9] = layer.intermediate.dense.weight[5]
        layer.intermediate.dense.bias[9] = layer.intermediate.dense.bias[5]
        layer.output.dense.weight[:, 9] = layer.output.dense.weight[:, 5]
    access = EncoderAccess(model)
    assert neuron_weight_vectors(access, 0).shape == (NEURONS, 2 * 32 + 1)
    scores = representative_scores(neuron_weight_vectors(access, 0), None, 1e-3, 200)
    assert set(torch.argsort(scores)[:2].tolist()) == {5, 9}


def test_d2_is_the_output_energy_per_token_and_a_silent_neuron_ranks_last():
    model, batches = tiny_model(), make_batches()
    with torch.no_grad():
        model.bert.encoder.layer[0].intermediate.dense.weight[7] = 0.0  # GELU(0) = 0: never fires
        model.bert.encoder.layer[0].intermediate.dense.bias[7] = 0.0
        model.bert.encoder.layer[1].output.dense.weight[:, 3] = 0.0  # fires, reaches nothing
    d2 = data_driven_scores(EncoderAccess(model), prepare_batches(batches, "cpu"))
    assert d2.shape == (LAYERS, NEURONS)
    assert float(d2[0, 7]) == 0.0 and float(d2[1, 3]) == 0.0
    assert int(torch.argmin(normalized_ranks(d2[0]))) == 7
    # Reference: the HF model's own post-activation FFN values, captured by forward hooks.
    seen: dict[int, list[torch.Tensor]] = {0: [], 1: []}
    hooks = [
        model.bert.encoder.layer[i].intermediate.register_forward_hook(
            lambda _m, _i, out, i=i: seen[i].append(out)
        )
        for i in range(LAYERS)
    ]
    with torch.no_grad():
        for batch in batches:
            model(**batch)
    for hook in hooks:
        hook.remove()
    tokens = sum(int(b["attention_mask"].sum()) for b in batches)
    for i in range(LAYERS):
        rows = torch.cat([a[b["attention_mask"].bool()] for a, b in zip(seen[i], batches)])
        columns = model.bert.encoder.layer[i].output.dense.weight.double().pow(2).sum(dim=0)
        expected = rows.double().pow(2).sum(dim=0) / tokens * columns
        torch.testing.assert_close(d2[i], expected, rtol=1e-4, atol=1e-9)


def test_ranks_are_normalised_per_layer_and_share_ties():
    ranks = normalized_ranks(torch.tensor([3.0, 1.0, 2.0, 2.0]))
    assert ranks.tolist() == [1.0, 0.25, 0.625, 0.625]
    r2 = torch.tensor([[1.0, 3.0, 2.0], [30.0, 10.0, 20.0]])
    d2 = torch.tensor([[6.0, 4.0, 5.0], [0.1, 0.3, 0.2]])
    torch.testing.assert_close(combine_ranks(r2, d2, 1.0)[1], normalized_ranks(r2[1]))
    torch.testing.assert_close(combine_ranks(r2, d2, 0.0)[0], normalized_ranks(d2[0]))
    both = combine_ranks(r2, d2, 0.5)
    # layer 0: R2 ranks 1/3, 1, 2/3 and D2 ranks 1, 1/3, 2/3: the raw scales do not matter
    torch.testing.assert_close(both[0], torch.tensor([2 / 3, 2 / 3, 2 / 3], dtype=torch.float64))
    torch.testing.assert_close(both[1], both[0])


def test_select_keeps_the_top_scores_that_fit_across_layers():
    scores = torch.tensor([[0.9, 0.1, 0.5], [0.8, 0.2, 0.7]])
    keep = select_neurons(scores, neuron_cost=2.0, budget=7.0)  # 3 neurons fit
    assert keep.tolist() == [[True, False, False], [True, False, True]]
    assert not select_neurons(scores, 2.0, 1.9).any()
    assert select_neurons(scores, 2.0, 12.0).all()
    ties = select_neurons(torch.ones(2, 3), 1.0, 4.0)  # equal scores: (layer, index) order
    assert ties.tolist() == [[True, True, True], [True, False, False]]


# --- the method ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("model_id", sorted(MODELS))
@pytest.mark.parametrize("ratio", [0.9, 0.7, 0.6])
def test_meets_budget_keeps_every_head_and_leaves_input_unchanged(model_id, ratio):
    kind, num_labels = MODELS[model_id]
    model = tiny_model(kind, num_labels=num_labels)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batches = make_batches()  # unlabeled: KCM needs no labels
    assert ratio > lowest_reachable(batches)
    result = prune(model, batches, KcmConfig(target_flops_ratio=ratio))
    assert result.method == "kcm"
    assert result.flops.ratio <= ratio
    assert result.flops.ratio > ratio - 0.01, "budget badly under-used"
    assert bool(result.masks.head_keep.all())
    assert result.masks.heads_per_layer() == [HEADS] * LAYERS
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert result.model is not model
    assert torch.isfinite(task_outputs(result.model, batches[0])).all()
    assert [s.index for s in result.sublayers] == list(range(sublayer_count(LAYERS)))
    assert [s.units_kept for s in result.sublayers if s.kind == "ffn"] == (
        result.masks.neurons_per_layer()
    )
    assert result.untuned_sublayers == ()


def test_unreachable_budget_raises_with_the_lowest_reachable_ratio():
    model, batches = tiny_model(), make_batches()
    floor = lowest_reachable(batches)
    with pytest.raises(BudgetUnreachableError, match=rf"{floor:.4f}.*\(kprune, kwon\)") as error:
        prune(model, batches, KcmConfig(target_flops_ratio=floor - 0.01))
    assert isinstance(error.value, KpruneError) and isinstance(error.value, ValueError)
    assert "target_flops_ratio" in str(error.value)


@pytest.mark.slow
def test_just_above_the_floor_keeps_only_what_fits():
    model, batches = tiny_model(), make_batches()
    floor = lowest_reachable(batches)
    result = prune(model, batches, KcmConfig(target_flops_ratio=floor + 0.01))
    assert floor <= result.flops.ratio <= floor + 0.01
    assert 0 < sum(result.masks.neurons_per_layer()) < 8


@pytest.mark.slow
def test_same_inputs_same_masks_and_outputs():
    model, batches = tiny_model(), make_batches()
    config = KcmConfig(target_flops_ratio=0.7)
    a, b = prune(model, batches, config), prune(model, batches, config)
    assert torch.equal(a.masks.head_keep, b.masks.head_keep)
    assert torch.equal(a.masks.neuron_keep, b.masks.neuron_keep)
    for batch in batches:
        assert torch.equal(task_outputs(a.model, batch), task_outputs(b.model, batch))
    # Labels ride along unused: the same batches with labels give the same masks.
    c = prune(model, labelled_batches(), config)
    assert torch.equal(a.masks.neuron_keep, c.masks.neuron_keep)


@pytest.mark.slow
@pytest.mark.parametrize("kind,num_labels", [("bert", 3), ("roberta", 3), ("qa", 2)])
def test_dense_model_equals_original_with_the_rescaled_masks(kind, num_labels):
    model, batches = tiny_model(kind, num_labels=num_labels), make_batches()
    config = KcmConfig(target_flops_ratio=0.7, damping=0.0)
    plan = plan_kcm(prepare_copy(model, batches, config), config)
    kept = torch.cat([g[g != 0] for g in plan.unit_gates.values()])
    assert not torch.allclose(kept, torch.ones_like(kept)), "scales must be non-trivial"
    ffn = [s for s in plan.logs if s.kind == "ffn"]
    assert all(s.tuned and s.residual_after <= s.residual_before for s in ffn)
    result = prune(model, batches, config)
    assert torch.equal(result.masks.neuron_keep, plan.masks.neuron_keep)
    gates = feature_gates(plan.unit_gates, EncoderAccess(model).head_size)  # heads: no gate = 1
    for batch in batches:
        with torch.no_grad():
            gated = model_outputs(EncoderAccess(model), batch, gates)
        torch.testing.assert_close(task_outputs(result.model, batch), gated)


@pytest.mark.slow
def test_without_rescaling_the_dense_model_equals_the_masked_original():
    model, batches = tiny_model("roberta", layers=3), make_batches()
    result = prune(model, batches, make_config("kcm-no-rescaling", target_flops_ratio=0.7))
    assert all(s.note == "rescaling off" for s in result.sublayers if s.kind == "ffn")
    gates = mask_gates(result.masks, EncoderAccess(model).head_size)
    with torch.no_grad():
        masked = model_outputs(EncoderAccess(model), batches[0], gates)
    torch.testing.assert_close(task_outputs(result.model, batches[0]), masked)


@pytest.mark.slow
def test_registry_dispatch_progress_round_to_and_global_rng():
    model, batches = tiny_model(), make_batches()
    assert METHOD_CONFIGS["kcm"] is KcmConfig
    assert make_config("kcm", target_flops_ratio=0.7) == KcmConfig(target_flops_ratio=0.7)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    seen = []
    result = prune(model, batches, make_config("kcm", target_flops_ratio=0.7), seen.append)
    assert torch.equal(torch.get_rng_state(), state)
    assert result.method == "kcm" and result.flops.ratio <= 0.7
    assert [s.index for s in seen] == list(range(sublayer_count(LAYERS)))
    rounded = prune(model, batches, KcmConfig(target_flops_ratio=0.7, round_to=16))
    assert all(n % 16 == 0 for n in rounded.masks.neurons_per_layer())
    assert rounded.masks.heads_per_layer() == [HEADS] * LAYERS
    assert rounded.flops.ratio <= 0.7


def test_ranking_of_the_unpruned_model_has_one_score_per_neuron():
    model, config = tiny_model(), KcmConfig()
    ranking = rank_neurons(EncoderAccess(model), prepare_batches(make_batches(), "cpu"), config)
    for scores in (ranking.representative, ranking.data_driven, ranking.combined):
        assert scores.shape == (LAYERS, NEURONS) and bool(torch.isfinite(scores).all())
    assert float(ranking.combined.max()) <= 1.0 and float(ranking.combined.min()) > 0.0


# --- config ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field,value",
    [
        ("r2_weight", 1.5),
        ("r2_weight", -0.1),
        ("r2_weight", math.nan),
        ("r2_weight", "0.5"),
        ("kernel_width", 0.0),
        ("kernel_width", -1.0),
        ("convex_tolerance", 0.0),
        ("convex_max_iterations", 0),
        ("convex_max_iterations", 2.5),
        ("convex_max_iterations", True),
        ("rescale", "yes"),
        ("damping", -1.0),
        ("target_flops_ratio", 0.0),
        ("device", "tpu"),
    ],
)
def test_bad_config_values_name_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        KcmConfig(**{field: value})
    with pytest.raises(ConfigError, match=field):
        make_config("kcm", **{field: value})
