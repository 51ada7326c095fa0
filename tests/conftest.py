"""Shared fixtures: tiny seeded random encoders (no hub) and calibration batches."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import torch
from transformers import (
    BertConfig,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    LlamaConfig,
    LlamaForCausalLM,
    MPNetConfig,
    MPNetForQuestionAnswering,
    MPNetForSequenceClassification,
    RobertaConfig,
    RobertaForSequenceClassification,
)

if TYPE_CHECKING:
    from kprune.arch import EncoderAccess

TINY = dict(
    vocab_size=128,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    max_position_embeddings=64,
)


def tiny_model(kind: str = "bert", num_labels: int = 3, layers: int = 2) -> torch.nn.Module:
    """A seeded random tiny encoder with a task head, in eval mode."""
    torch.manual_seed(0)
    tiny = {**TINY, "num_hidden_layers": layers}
    if kind == "bert":
        model = BertForSequenceClassification(BertConfig(**tiny, num_labels=num_labels))
    elif kind == "roberta":
        model = RobertaForSequenceClassification(RobertaConfig(**tiny, num_labels=num_labels))
    elif kind == "distilbert":
        cfg = DistilBertConfig(
            vocab_size=128,
            dim=32,
            n_layers=layers,
            n_heads=4,
            hidden_dim=64,
            max_position_embeddings=64,
            num_labels=num_labels,
        )
        model = DistilBertForSequenceClassification(cfg)
    elif kind == "qa":
        model = BertForQuestionAnswering(BertConfig(**tiny))
    elif kind == "mpnet":
        cfg = MPNetConfig(**tiny, relative_attention_num_buckets=32, num_labels=num_labels)
        model = MPNetForSequenceClassification(cfg)
    elif kind == "mpnet-qa":
        model = MPNetForQuestionAnswering(MPNetConfig(**tiny, relative_attention_num_buckets=32))
    else:
        raise ValueError(kind)
    if kind.startswith("mpnet"):
        # init's std 0.02 makes the shared position bias nearly zero; a bias of order one makes
        # a layer that adds another head's slice differ clearly from the reference
        with torch.no_grad():
            model.mpnet.encoder.relative_attention_bias.weight.normal_(0.0, 1.0)
    return model.eval()


def tiny_llama(layers: int = 3, tie: bool = False, kv_heads: int = 2) -> torch.nn.Module:
    """A seeded random tiny Llama causal LM (hidden 64, 4 query heads of 16 dims in ``kv_heads``
    key/value groups, SwiGLU width 128, vocab 128), in eval mode.

    initializer_range 0.2 instead of 0.02: with the default, every sublayer's output is tiny next
    to the residual, so a wrong head, group or position would hide below test tolerances."""
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=128,
        hidden_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=kv_heads,
        intermediate_size=128,
        max_position_embeddings=64,
        initializer_range=0.2,
        tie_word_embeddings=tie,
    )
    return LlamaForCausalLM(config).eval()


def make_batches(
    num_batches: int = 3, batch_size: int = 6, seq: int = 12, seed: int = 1
) -> list[dict[str, torch.Tensor]]:
    """Random token batches with ragged padding (RoBERTa pad id 1 avoided in real tokens)."""
    g = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(num_batches):
        ids = torch.randint(5, 128, (batch_size, seq), generator=g)
        lengths = torch.randint(3, seq + 1, (batch_size,), generator=g)
        mask = (torch.arange(seq)[None, :] < lengths[:, None]).long()
        ids = torch.where(mask.bool(), ids, torch.ones_like(ids))
        batches.append({"input_ids": ids, "attention_mask": mask})
    return batches


@pytest.fixture
def tiny_bert() -> torch.nn.Module:
    return tiny_model("bert")


@pytest.fixture
def calib_batches() -> list[dict[str, torch.Tensor]]:
    return make_batches()


def assert_packed_pass_equals_padded(
    access: EncoderAccess, batch: dict[str, torch.Tensor], start: int
) -> None:
    """The gated pass from sublayer ``start`` to the head, padded and packed: the same head
    outputs, real-token features and gate gradients (the knowledge pass's inputs)."""
    from kprune.forward import forward_from, gate_gradients, gradient_gates
    from kprune.methods.kprune.losses import TASK_LOSSES
    from kprune.tokens import TokenLayout

    x = access.embed(batch).detach()
    results = []
    for packed in (False, True):
        layout = TokenLayout(batch["attention_mask"], x.dtype, packed=packed)
        gates = gradient_gates(access, start, "cpu")
        out, feats = forward_from(
            access, start, layout.arrange(x), layout, gates, keep_features=True
        )
        soft = torch.full_like(out, 1.0 / out.shape[-1])
        grads = gate_gradients(TASK_LOSSES["classification"].loss(out, soft, 2.0), gates)
        results.append((out, {j: layout.rows(f.detach()) for j, f in feats.items()}, grads))
    (out_a, feats_a, grads_a), (out_b, feats_b, grads_b) = results
    torch.testing.assert_close(out_a, out_b, atol=1e-5, rtol=1e-5)
    assert feats_a.keys() == feats_b.keys() == grads_a.keys()
    for j in feats_a:
        torch.testing.assert_close(feats_a[j], feats_b[j], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(grads_a[j], grads_b[j], atol=1e-6, rtol=1e-4)
