"""Kwon et al. step 1: true-label task loss and per-batch mask gradients."""

import pytest
import torch

from kprune import CalibrationError, KwonConfig, prune
from kprune.arch import EncoderAccess
from kprune.calibration import prepare_batches
from kprune.forward import model_outputs
from kprune.methods.kwon.fisher import TRUE_LABEL_LOSSES, collect_mask_gradients
from kprune.sublayer import FFN, MHA, head_dims_mask, sublayer_index
from tests.conftest import make_batches, tiny_model
from tests.kprune.test_methods import labelled_batches

TASKS = {"classification": ("bert", 3), "regression": ("bert", 1), "qa": ("qa", 2)}
LABELS = {"labels", "start_positions", "end_positions"}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_true_label_loss_is_the_models_own_loss(task):
    kind, num_labels = TASKS[task]
    model = tiny_model(kind, num_labels=num_labels)
    access = EncoderAccess(model)
    assert access.task_kind() == task
    for raw, batch in zip(
        labelled_batches(kind, num_labels),
        prepare_batches(labelled_batches(kind, num_labels), "cpu"),
    ):
        with torch.no_grad():
            expected = model(**raw).loss
            ours = TRUE_LABEL_LOSSES[task](model_outputs(access, batch.inputs), batch.extras)
        torch.testing.assert_close(ours, expected)


def test_gradients_are_those_of_per_head_and_per_neuron_masks():
    model = tiny_model(layers=2)
    access = EncoderAccess(model)
    batches = prepare_batches(labelled_batches(), "cpu")
    grads = collect_mask_gradients(access, batches, "classification")
    assert grads.heads.shape == (3, 2, 4) and grads.neurons.shape == (3, 2, 64)
    for position, batch in enumerate(batches):
        heads = torch.ones(2, 4, requires_grad=True)
        neurons = torch.ones(2, 64, requires_grad=True)
        gates = {}
        for layer in range(2):
            gates[sublayer_index(layer, MHA)] = head_dims_mask(heads[layer], access.head_size)
            gates[sublayer_index(layer, FFN)] = neurons[layer]
        loss = TRUE_LABEL_LOSSES["classification"](
            model_outputs(access, batch.inputs, gates), batch.extras
        )
        g_heads, g_neurons = torch.autograd.grad(loss, [heads, neurons])
        torch.testing.assert_close(grads.heads[position].float(), g_heads)
        torch.testing.assert_close(grads.neurons[position].float(), g_neurons)
    torch.testing.assert_close(grads.head_fisher(), grads.heads.pow(2).sum(0))


@pytest.mark.parametrize(
    "kind,num_labels,missing",
    [("bert", 3, "labels"), ("bert", 1, "labels"), ("qa", 2, "end_positions")],
)
def test_missing_labels_name_the_key(kind, num_labels, missing):
    batches = labelled_batches(kind, num_labels)
    batches[1] = {k: v for k, v in batches[1].items() if k != missing}
    with pytest.raises(CalibrationError, match=f"batch 1 has no '{missing}'"):
        prune(tiny_model(kind, num_labels=num_labels), batches, KwonConfig())


def test_unlabelled_batches_and_wrong_label_counts_are_refused():
    with pytest.raises(CalibrationError, match="'labels'"):
        prune(tiny_model(), make_batches(), KwonConfig())
    batches = labelled_batches()
    batches[0]["labels"] = batches[0]["labels"][:2]
    with pytest.raises(CalibrationError, match="one label per sequence"):
        prune(tiny_model(), batches, KwonConfig())
