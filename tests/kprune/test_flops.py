from transformers import BertConfig, BertForSequenceClassification

from kprune import encoder_flops, encoder_shape, head_flops, neuron_flops
from tests.conftest import tiny_model


def test_head_and_neuron_flops_match_hand_count():
    # s=10, d=32, d_h=8: 8*10*32*8 + 4*10*10*8 = 20480 + 3200; neuron: 4*10*32
    assert head_flops(10, 32, 8) == 23680
    assert neuron_flops(10, 32) == 1280


def test_full_tiny_model_flops_equal_hand_count():
    shape = encoder_shape(tiny_model("bert"))
    total = encoder_flops(shape.heads_per_layer, shape.neurons_per_layer, 10, 32, shape.head_size)
    assert total == 2 * (4 * 23680 + 64 * 1280)


def test_bert_base_matches_spec_table():
    shape = encoder_shape(BertForSequenceClassification(BertConfig()).eval())
    total = encoder_flops(shape.heads_per_layer, shape.neurons_per_layer, 170, 768, 64)
    # spec §7 table, SQuAD row: F_total = 29.94 G, F_head = 74.25 M, F_neuron = 0.522 M
    assert round(total / 1e9, 2) == 29.94
    assert round(head_flops(170, 768, 64) / 1e6, 2) == 74.25
    assert round(neuron_flops(170, 768) / 1e6, 3) == 0.522
