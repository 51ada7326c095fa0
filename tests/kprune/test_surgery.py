import pytest
import torch

from kprune import Masks, encoder_shape, remove_pruned_units
from kprune.arch import EncoderAccess
from kprune.errors import KpruneError
from kprune.forward import model_outputs
from kprune.sublayer import mask_gates
from tests.conftest import make_batches, tiny_model


def _masks(layers, seed):
    g = torch.Generator().manual_seed(seed)
    heads = torch.rand(layers, 4, generator=g) > 0.4
    neurons = torch.rand(layers, 64, generator=g) > 0.5
    heads[0] = False  # a layer with zero heads
    neurons[-1] = False  # a layer with zero neurons
    heads[-1, 0] = True
    return Masks(heads, neurons)


@pytest.mark.parametrize("kind", ["bert", "roberta", "distilbert", "qa"])
def test_masked_model_equals_dense_pruned_model(kind):
    model = tiny_model(kind, layers=3)
    masks = _masks(3, seed=3)
    pruned = remove_pruned_units(model, masks)
    batch = make_batches(1)[0]
    with torch.no_grad():
        access = EncoderAccess(model)
        masked = model_outputs(access, batch, mask_gates(masks, access.head_size))
        out = pruned(**batch)
    dense = (
        out.logits
        if hasattr(out, "logits")
        else torch.stack([out.start_logits, out.end_logits], -1)
    )
    torch.testing.assert_close(dense, masked, atol=1e-5, rtol=1e-5)
    shape = encoder_shape(pruned)
    assert list(shape.heads_per_layer) == masks.heads_per_layer()
    assert list(shape.neurons_per_layer) == masks.neurons_per_layer()


def test_pruned_model_is_smaller_and_input_untouched():
    model = tiny_model("bert")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pruned = remove_pruned_units(model, _masks(2, seed=4))
    assert sum(p.numel() for p in pruned.parameters()) < sum(p.numel() for p in model.parameters())
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])


def test_wrong_mask_shape_is_rejected():
    model = tiny_model("bert")
    with pytest.raises(KpruneError, match="keep-mask"):
        remove_pruned_units(
            model, Masks(torch.ones(2, 5, dtype=torch.bool), torch.ones(2, 64, dtype=torch.bool))
        )
