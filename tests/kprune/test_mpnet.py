"""MPNet: one relative-position bias [B, heads, T, T] computed by the encoder for all heads and
shared by every layer. A layer that keeps a subset of heads must add exactly its heads' slices,
in kprune's functional forward and in the physically pruned model, through save/load as well.
"""

from __future__ import annotations

import pytest
import torch

from kprune import (
    KpruneConfig,
    Masks,
    encoder_shape,
    load_pruned,
    make_config,
    prune,
    save_pruned,
)
from kprune.arch import EncoderAccess
from kprune.forward import model_outputs
from kprune.position_bias import HeadSubsetAttention
from kprune.sublayer import mask_gates
from kprune.surgery import prune_attention, remove_pruned_units
from tests.conftest import assert_packed_pass_equals_padded, make_batches, tiny_model

KINDS = ["mpnet", "mpnet-qa"]


def _outputs(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        out = model(**batch)
    if hasattr(out, "logits"):
        return out.logits
    return torch.stack([out.start_logits, out.end_logits], -1)


def _functional(model: torch.nn.Module, batch, masks: Masks | None = None) -> torch.Tensor:
    access = EncoderAccess(model)
    gates = mask_gates(masks, access.head_size) if masks is not None else None
    with torch.no_grad():
        return model_outputs(access, batch, gates)


def _masks() -> Masks:
    """Different heads in every layer (so each takes other bias slices), one empty attention
    and one empty FFN; 4 layers of 4 heads and 64 neurons."""
    heads = torch.tensor([[1, 0, 1, 1], [0, 1, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    neurons = torch.rand(4, 64, generator=torch.Generator().manual_seed(2)) > 0.4
    neurons[1] = False
    return Masks(heads, neurons)


def _kept_heads(model: torch.nn.Module) -> list[list[int] | None]:
    """Per layer: the original head indices a HeadSubsetAttention keeps, None for other modules."""
    layers = EncoderAccess(model).layers
    return [
        lyr.attention.attn.kept_heads.tolist()
        if isinstance(getattr(lyr.attention, "attn", None), HeadSubsetAttention)
        else None
        for lyr in layers
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_functional_forward_equals_the_hf_forward(kind):
    model = tiny_model(kind, layers=3)
    for batch in make_batches(2):
        torch.testing.assert_close(_functional(model, batch), _outputs(model, batch))
    assert EncoderAccess(model).attention_bias(0, 12).shape == (1, 4, 12, 12)
    assert EncoderAccess(tiny_model("bert")).attention_bias(0, 12) is None


@pytest.mark.parametrize("kind", KINDS)
def test_masked_model_equals_pruned_model_with_other_heads_per_layer(kind):
    model, masks = tiny_model(kind, layers=4), _masks()
    pruned = remove_pruned_units(model, masks)
    assert _kept_heads(pruned) == [[0, 2, 3], [1, 3], None, None]
    assert type(pruned.mpnet.encoder.layer[3].attention.attn).__name__ == "MPNetSelfAttention"
    shape = encoder_shape(pruned)
    assert list(shape.heads_per_layer) == [3, 2, 0, 4]
    assert list(shape.neurons_per_layer) == masks.neurons_per_layer()
    for batch in make_batches(2):
        dense = _outputs(pruned, batch)
        torch.testing.assert_close(dense, _functional(model, batch, masks), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(_functional(pruned, batch), dense, atol=1e-5, rtol=1e-5)


def test_a_layer_adding_other_heads_bias_slices_is_detected():
    """The equality above is sensitive to the slicing: the first heads' slices instead of the
    kept heads' slices change the outputs far beyond its tolerance."""
    model, masks, batch = tiny_model("mpnet-qa", layers=4), _masks(), make_batches(1)[0]
    pruned = remove_pruned_units(model, masks)
    pruned.mpnet.encoder.layer[1].attention.attn.kept_heads = torch.tensor([0, 1])
    diff = (_outputs(pruned, batch) - _functional(model, batch, masks)).abs().max()
    assert diff > 100 * 1e-5  # 100x the tolerance of the equality tests


def test_repeated_cuts_compose_original_head_indices():
    model, batch = tiny_model("mpnet", layers=2), make_batches(1)[0]
    access = EncoderAccess(model)
    prune_attention(access, 0, torch.tensor([True, True, False, True]))
    prune_attention(access, 0, torch.tensor([False, True, True]))
    assert _kept_heads(model) == [[1, 3], None]
    assert access.num_heads(0) == 2
    reference = tiny_model("mpnet", layers=2)
    masks = Masks(
        torch.tensor([[0, 1, 0, 1], [1, 1, 1, 1]], dtype=torch.bool),
        torch.ones(2, 64, dtype=torch.bool),
    )
    torch.testing.assert_close(
        _outputs(model, batch), _functional(reference, batch, masks), atol=1e-5, rtol=1e-5
    )


def test_packed_and_padded_passes_agree_on_a_pruned_layer():
    """Outputs, per-sublayer features and gate gradients, with layer 0 keeping heads 1 and 3."""
    model = tiny_model("mpnet", layers=2)
    access = EncoderAccess(model)
    prune_attention(access, 0, torch.tensor([False, True, False, True]))
    assert_packed_pass_equals_padded(access, make_batches(1)[0], start=0)


@pytest.mark.slow  # prunes twice
def test_prune_end_to_end_packed_equals_padded_and_untuned_equals_masked():
    model, batches = tiny_model("mpnet", layers=3), make_batches()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    runs = [
        prune(model, batches, KpruneConfig(target_flops_ratio=0.5, pack_tokens=packed))
        for packed in (True, False)
    ]
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    packed, padded = runs
    assert packed.flops.ratio <= 0.5
    assert torch.equal(packed.masks.head_keep, padded.masks.head_keep)
    assert torch.equal(packed.masks.neuron_keep, padded.masks.neuron_keep)
    assert torch.isfinite(_outputs(packed.model, batches[0])).all()
    plain = prune(model, batches, KpruneConfig(target_flops_ratio=0.5, tune_weights=False))
    for batch in batches[:2]:
        torch.testing.assert_close(
            _outputs(plain.model, batch),
            _functional(model, batch, plain.masks),
            atol=1e-5,
            rtol=1e-5,
        )


@pytest.mark.slow  # prunes once
def test_qa_model_prunes_to_its_masked_model():
    model, batches = tiny_model("mpnet-qa", layers=3), make_batches()
    result = prune(model, batches, KpruneConfig(target_flops_ratio=0.4, tune_weights=False))
    assert result.flops.ratio <= 0.4
    torch.testing.assert_close(
        _outputs(result.model, batches[0]),
        _functional(model, batches[0], result.masks),
        atol=1e-5,
        rtol=1e-5,
    )


@pytest.mark.slow  # prunes once per method
@pytest.mark.parametrize("method", ["kwon", "uniform", "random"])
def test_other_methods_prune_mpnet_to_a_consistent_model(method):
    model, batches = tiny_model("mpnet", layers=3), make_batches()
    g = torch.Generator().manual_seed(0)
    labelled = [
        {**b, "labels": torch.randint(0, 3, (b["input_ids"].shape[0],), generator=g)}
        for b in batches
    ]  # Kwon et al. need true labels
    result = prune(model, labelled, make_config(method, target_flops_ratio=0.5))
    assert result.flops.ratio <= 0.5
    torch.testing.assert_close(
        _outputs(result.model, batches[0]), _functional(result.model, batches[0])
    )


@pytest.mark.parametrize("ratio", [1.0, None])
def test_save_load_round_trip_keeps_each_layers_bias_slices(tmp_path, ratio):
    """ratio None: the hand masks (subsets, an empty block, a full layer); 1.0: nothing cut,
    so the model keeps the HF attention modules."""
    model = tiny_model("mpnet", layers=4)
    if ratio is None:
        pruned = remove_pruned_units(model, _masks())
    else:
        pruned = prune(model, make_batches(), KpruneConfig(target_flops_ratio=ratio)).model
    save_pruned(pruned, tmp_path / "pruned")
    loaded = load_pruned(tmp_path / "pruned")
    assert _kept_heads(loaded) == _kept_heads(pruned)
    assert encoder_shape(loaded) == encoder_shape(pruned)
    for batch in make_batches(2):
        assert torch.equal(_outputs(loaded, batch), _outputs(pruned, batch))


@pytest.mark.gpu
def test_cuda_pruning_keeps_bias_slices_on_the_device():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    batch = make_batches(1)[0]
    expected = _outputs(remove_pruned_units(tiny_model("mpnet", layers=4), _masks()), batch)
    pruned = remove_pruned_units(tiny_model("mpnet", layers=4).to("cuda"), _masks())
    assert pruned.mpnet.encoder.layer[0].attention.attn.kept_heads.device.type == "cuda"
    on_device = {k: v.to("cuda") for k, v in batch.items()}
    torch.testing.assert_close(_outputs(pruned, on_device).cpu(), expected, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(_functional(pruned, on_device).cpu(), expected, atol=1e-4, rtol=1e-4)
    result = prune(
        tiny_model("mpnet", layers=3),
        make_batches(),
        KpruneConfig(target_flops_ratio=0.5, device="cuda"),
    )
    assert result.flops.ratio <= 0.5
