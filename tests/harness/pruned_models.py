"""Tiny seeded encoders pruned non-uniformly with kprune's surgery (shared by harness tests).

Layer 0 keeps 2 of 4 heads and 24 of 64 neurons, layer 1 keeps no head (empty attention),
layer 2 keeps every head and no neuron (empty FFN).
"""

from __future__ import annotations

import torch
from transformers import BertConfig, BertForQuestionAnswering, BertForSequenceClassification

from kprune import Masks, remove_pruned_units

TINY = dict(
    vocab_size=128,
    hidden_size=32,
    num_hidden_layers=3,
    num_attention_heads=4,
    intermediate_size=64,
    max_position_embeddings=64,
)
HEADS_KEPT = [2, 0, 4]
NEURONS_KEPT = [24, 64, 0]


def tiny_dense(task: str = "classification", seed: int = 0) -> torch.nn.Module:
    """A seeded random 3-layer BERT task model in eval mode (classification or qa)."""
    torch.manual_seed(seed)
    if task == "qa":
        return BertForQuestionAnswering(BertConfig(**TINY)).eval()
    return BertForSequenceClassification(BertConfig(**TINY, num_labels=3)).eval()


def tiny_masks() -> Masks:
    heads = torch.zeros(3, 4, dtype=torch.bool)
    heads[0, [0, 3]] = True
    heads[2] = True
    neurons = torch.zeros(3, 64, dtype=torch.bool)
    neurons[0, torch.arange(0, 64, 2)[:24]] = True
    neurons[1] = True
    return Masks(head_keep=heads, neuron_keep=neurons)


def tiny_pruned(task: str = "classification") -> torch.nn.Module:
    """The dense model with the units of `tiny_masks` physically removed."""
    return remove_pruned_units(tiny_dense(task), tiny_masks()).eval()
