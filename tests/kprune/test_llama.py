"""Llama-style decoders (pre-RMSNorm, rotary, grouped-query attention, SwiGLU): kprune's functional
forward equals the HF causal LM; a unit is one key/value group with its query heads, so the model
masked by gates equals the physically pruned one with GQA grouping intact; FLOPs and parameter
counts match a hand count; unsupported decoder families say what is supported.
"""

from __future__ import annotations

import pytest
import torch
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    OPTConfig,
    OPTForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from kprune import (
    KpruneConfig,
    Masks,
    UnsupportedModelError,
    count_parameters,
    encoder_shape,
    prune,
    remove_pruned_units,
)
from kprune.arch import EncoderAccess
from kprune.flops import attention_unit_flops, model_flops, neuron_flops
from kprune.forward import model_outputs
from kprune.params import unit_parameters
from kprune.sublayer import mask_gates
from tests.conftest import make_batches, tiny_llama

GQA = dict(
    vocab_size=128,
    hidden_size=64,
    num_hidden_layers=3,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=128,
    max_position_embeddings=64,
    initializer_range=0.2,
)


def _logits(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return model(**batch, use_cache=False).logits  # type: ignore[no-any-return]


def _functional(model: torch.nn.Module, batch, masks: Masks | None = None) -> torch.Tensor:
    access = EncoderAccess(model)
    gates = mask_gates(masks, access.unit_width) if masks is not None else None
    with torch.no_grad():
        return model_outputs(access, batch, gates)


def _real(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Positions the comparisons read: the real tokens (padding rows are never scored)."""
    return batch["attention_mask"].bool()


def _masks() -> Masks:
    """Another group kept in each of the first two layers, no group in the third (empty
    attention), an empty FFN in layer 1 and ragged FFNs elsewhere; 3 layers of 2 groups."""
    groups = torch.tensor([[1, 0], [0, 1], [0, 0]], dtype=torch.bool)
    neurons = torch.rand(3, 128, generator=torch.Generator().manual_seed(2)) > 0.4
    neurons[1] = False
    return Masks(groups, neurons)


def _seeded(build):  # type: ignore[no-untyped-def]
    def make() -> torch.nn.Module:
        torch.manual_seed(0)
        return build().eval()  # type: ignore[no-any-return]

    return make


BUILDERS = {
    "llama": lambda: tiny_llama(3),
    "llama-tied": lambda: tiny_llama(3, tie=True),
    "llama-biases": _seeded(
        lambda: LlamaForCausalLM(LlamaConfig(**GQA, attention_bias=True, mlp_bias=True))
    ),
    # a window shorter than the batches' 12 tokens, so the sliding mask matters
    "mistral-window": _seeded(lambda: MistralForCausalLM(MistralConfig(**GQA, sliding_window=4))),
    "qwen2-window": _seeded(
        lambda: Qwen2ForCausalLM(
            Qwen2Config(**GQA, use_sliding_window=True, sliding_window=4, max_window_layers=1)
        )
    ),
}


VARIANTS = list(BUILDERS)


@pytest.mark.parametrize("name", VARIANTS)
def test_functional_forward_equals_the_hf_causal_lm(name):
    model = BUILDERS[name]()
    for batch in make_batches(2):
        real = _real(batch)
        torch.testing.assert_close(
            _functional(model, batch)[real], _logits(model, batch)[real], atol=1e-5, rtol=1e-5
        )


def test_sliding_window_is_applied_per_layer():
    def windows(name: str) -> list[int | None]:
        return [EncoderAccess(BUILDERS[name]()).sliding_window(i) for i in range(3)]

    assert windows("mistral-window") == [4, 4, 4]
    assert windows("qwen2-window") == [None, 4, 4]  # max_window_layers=1: layer 0 is full
    assert windows("llama") == [None, None, None]
    # the window changes the logits, so the forward equality above checks it is applied
    batch = make_batches(1)[0]
    full = _seeded(lambda: MistralForCausalLM(MistralConfig(**GQA, sliding_window=None)))()
    diff = _logits(full, batch) - _logits(BUILDERS["mistral-window"](), batch)
    assert diff[_real(batch)].abs().max() > 1e-3


def test_the_forward_is_causal():
    """Changing the last real token of a sequence changes no logit before it."""
    model, batch = tiny_llama(2), make_batches(1)[0]
    changed = {k: v.clone() for k, v in batch.items()}
    last = int(batch["attention_mask"][0].sum()) - 1
    changed["input_ids"][0, last] = (batch["input_ids"][0, last] + 1) % 128
    before, after = _functional(model, batch), _functional(model, changed)
    torch.testing.assert_close(before[0, :last], after[0, :last], atol=1e-6, rtol=1e-6)
    assert (before[0, last] - after[0, last]).abs().max() > 1e-3


def test_gqa_units_are_key_value_groups():
    access = EncoderAccess(tiny_llama(2))
    assert (access.head_size, access.heads_per_unit, access.unit_width) == (16, 2, 32)
    assert (access.num_heads(0), access.num_units(0), access.num_neurons(0)) == (4, 2, 128)
    assert access.ffn_input_roles() == ("ffn_gate", "ffn_in")
    assert EncoderAccess(tiny_llama(2, kv_heads=4)).heads_per_unit == 1  # MHA Llama: heads


@pytest.mark.parametrize("name", VARIANTS)
def test_masked_model_equals_pruned_model_with_other_groups_per_layer(name):
    model, masks = BUILDERS[name](), _masks()
    pruned = remove_pruned_units(model, masks)
    shape = encoder_shape(pruned)
    assert list(shape.heads_per_layer) == [2, 2, 0]  # query heads: one group of 2 heads
    assert list(shape.units_per_layer) == masks.heads_per_layer() == [1, 1, 0]
    assert list(shape.neurons_per_layer) == masks.neurons_per_layer()
    for batch in make_batches(2):
        real, dense = _real(batch), _logits(pruned, batch)
        masked = _functional(model, batch, masks)
        torch.testing.assert_close(dense[real], masked[real], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(_functional(pruned, batch)[real], dense[real])


def test_pruned_layers_keep_the_chosen_groups_weights():
    """GQA grouping intact: layer 1 keeps group 1 = k/v head 1 and query heads 2 and 3."""
    model = tiny_llama(3)
    pruned = remove_pruned_units(model, _masks())
    old, new = model.model.layers[1].self_attn, pruned.model.layers[1].self_attn
    d_h = 16
    torch.testing.assert_close(new.q_proj.weight, old.q_proj.weight[2 * d_h : 4 * d_h])
    torch.testing.assert_close(new.k_proj.weight, old.k_proj.weight[d_h : 2 * d_h])
    torch.testing.assert_close(new.v_proj.weight, old.v_proj.weight[d_h : 2 * d_h])
    torch.testing.assert_close(new.o_proj.weight, old.o_proj.weight[:, 2 * d_h : 4 * d_h])
    for layer in pruned.model.layers[:2]:  # each k/v head still serves 2 query heads
        attn = layer.self_attn
        assert attn.q_proj.out_features == attn.num_key_value_groups * attn.k_proj.out_features
    gate, up = pruned.model.layers[0].mlp.gate_proj, pruned.model.layers[0].mlp.up_proj
    kept = torch.nonzero(_masks().neuron_keep[0]).flatten()
    torch.testing.assert_close(gate.weight, model.model.layers[0].mlp.gate_proj.weight[kept])
    torch.testing.assert_close(up.weight, model.model.layers[0].mlp.up_proj.weight[kept])


def test_a_layer_keeping_the_wrong_group_is_detected():
    """The equality above is sensitive to which group is kept: swapping layer 0's k/v head for
    the other group's changes the logits far beyond its tolerance."""
    model, masks, batch = tiny_llama(3), _masks(), make_batches(1)[0]
    pruned = remove_pruned_units(model, masks)
    other = model.model.layers[0].self_attn
    with torch.no_grad():
        pruned.model.layers[0].self_attn.k_proj.weight.copy_(other.k_proj.weight[16:32])
    real = _real(batch)
    diff = (_logits(pruned, batch) - _functional(model, batch, masks))[real].abs().max()
    assert diff > 100 * 1e-5


def test_decoder_flops_match_a_hand_count_from_module_shapes():
    """Per token: 2·in·out per Linear of the layers (the LM head is not counted), plus 4·s·d_h
    per query head for QKᵀ and PV; s = 10."""
    model, s = tiny_llama(3), 10
    linears = [m for m in model.model.layers.modules() if isinstance(m, torch.nn.Linear)]
    by_hand = sum(2 * s * m.in_features * m.out_features for m in linears)
    by_hand += 3 * 4 * (4 * s * s * 16)  # 3 layers, 4 query heads of 16 dims
    shape = encoder_shape(model)
    counted = model_flops(shape.units_per_layer, shape.neurons_per_layer, s, 64, 16, 2, 3)
    assert counted == by_hand == 2_288_640
    # one group: q, o 2·s·64·32 each; k, v 2·s·64·16 each; 2 heads · 4·s²·16
    assert attention_unit_flops(s, 64, 16, 2) == 2 * 40960 + 2 * 20480 + 2 * 6400
    assert neuron_flops(s, 64, 3) == 6 * s * 64  # gate row, up row, down column


@pytest.mark.parametrize("tie", [False, True])
def test_unit_parameters_match_the_pruned_models_parameter_count(tie):
    model = tiny_llama(3, tie=tie)
    per_unit, per_neuron = unit_parameters(EncoderAccess(model))
    assert (per_unit, per_neuron) == (64 * 32 * 2 + 64 * 16 * 2, 3 * 64)
    masks = _masks()
    removed_units = 3 * 2 - sum(masks.heads_per_layer())
    removed_neurons = 3 * 128 - sum(masks.neurons_per_layer())
    expected = count_parameters(model) - removed_units * per_unit - removed_neurons * per_neuron
    assert count_parameters(remove_pruned_units(model, masks)) == expected
    # tied embeddings are one tensor: counted once
    untied = count_parameters(tiny_llama(3, tie=False))
    assert count_parameters(model) == untied - (128 * 64 if tie else 0)


@pytest.mark.parametrize(
    "model",
    [
        GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=64, n_positions=32)),
        OPTForCausalLM(
            OPTConfig(
                num_hidden_layers=1,
                hidden_size=32,
                num_attention_heads=2,
                ffn_dim=64,
                vocab_size=64,
                word_embed_proj_dim=32,
                max_position_embeddings=32,
            )
        ),
    ],
    ids=["gpt2", "opt"],
)
def test_unsupported_decoder_family_names_itself_and_the_supported_ones(model):
    with pytest.raises(UnsupportedModelError) as caught:
        prune(model.eval(), make_batches(1), KpruneConfig())
    message = str(caught.value)
    assert type(model).__name__ in message and model.config.model_type in message
    assert "LlamaForCausalLM" in message and "BertForSequenceClassification" in message
    assert "decoder families: llama, mistral, qwen2" in message
