"""Per-architecture layouts: where each supported Hugging Face model keeps its encoder or decoder
layers, attention and FFN modules, norms, embeddings and task head, as plain data plus the head
and embedding forwards. Only `kprune.arch` reads it; nothing here touches a model instance's
modules beyond the head/embedding forwards it is handed.

Post-norm encoders (BERT family, MPNet) and pre-norm Llama-style decoders (Llama, Mistral, Qwen2:
RMSNorm, rotary, GQA, SwiGLU, causal LM head).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class ArchLayout:
    """Dotted module paths, relative to one encoder layer unless said otherwise."""

    base: str  # attribute of the task model holding the encoder (model.bert, ...)
    layers: str  # relative to base
    query: str
    key: str
    value: str
    attn_out: str
    attn_norm: str
    ffn_in: str
    ffn_act: str
    ffn_out: str
    ffn_norm: str
    attention_block: str  # replaced by EmptyAttention when no head is left
    self_attention: str  # the module holding q/k/v and the head-count bookkeeping
    norm_inside_blocks: bool  # BERT: LayerNorm inside the blocks; DistilBERT: in the layer
    # Relative to base: the module whose compute_position_bias(x) is the bias [B, heads, T, T]
    # shared by all layers (MPNet; kprune.position_bias slices it per layer). None: no such bias.
    shared_position_bias: str | None = None
    ffn_block: str = "output"  # the layer attribute an empty FFN replaces
    # Gated FFN (SwiGLU): features = act(ffn_gate(x)) * ffn_in(x); None: act(ffn_in(x)).
    ffn_gate: str | None = None
    # Pre-norm (Llama): the norm is applied to the sublayer's input and the residual sum is the
    # output; post-norm (BERT): the norm is applied to the residual sum.
    pre_norm: bool = False
    causal: bool = False  # decoder self-attention: position t attends to positions <= t only
    embedding: str = "bert"  # key of EMBED_FORWARD: how input_ids become the first hidden states
    rotary: str | None = None  # relative to base: module giving (cos, sin) for position ids


_BERT_LIKE = dict(
    layers="encoder.layer",
    query="attention.self.query",
    key="attention.self.key",
    value="attention.self.value",
    attn_out="attention.output.dense",
    attn_norm="attention.output.LayerNorm",
    ffn_in="intermediate.dense",
    ffn_act="intermediate.intermediate_act_fn",
    ffn_out="output.dense",
    ffn_norm="output.LayerNorm",
    attention_block="attention",
    self_attention="attention.self",
    norm_inside_blocks=True,
)

_MPNET = {
    **_BERT_LIKE,
    "query": "attention.attn.q",
    "key": "attention.attn.k",
    "value": "attention.attn.v",
    "attn_out": "attention.attn.o",
    "attn_norm": "attention.LayerNorm",
    "self_attention": "attention.attn",
}

LAYOUTS: dict[str, ArchLayout] = {
    "bert": ArchLayout(base="bert", **_BERT_LIKE),  # type: ignore[arg-type]
    "roberta": ArchLayout(base="roberta", **_BERT_LIKE),  # type: ignore[arg-type]
    "xlm-roberta": ArchLayout(base="roberta", **_BERT_LIKE),  # type: ignore[arg-type]
    "electra": ArchLayout(base="electra", **_BERT_LIKE),  # type: ignore[arg-type]
    "distilbert": ArchLayout(
        base="distilbert",
        ffn_block="ffn",
        embedding="distilbert",
        layers="transformer.layer",
        query="attention.q_lin",
        key="attention.k_lin",
        value="attention.v_lin",
        attn_out="attention.out_lin",
        attn_norm="sa_layer_norm",
        ffn_in="ffn.lin1",
        ffn_act="ffn.activation",
        ffn_out="ffn.lin2",
        ffn_norm="output_layer_norm",
        attention_block="attention",
        self_attention="attention",
        norm_inside_blocks=False,
    ),
    # MPNet: relative-position bias from encoder.relative_attention_bias, shared by all layers
    "mpnet": ArchLayout(base="mpnet", shared_position_bias="encoder", **_MPNET),  # type: ignore[arg-type]
}

# Llama-style decoders: pre-RMSNorm, rotary q/k, grouped-query attention, SwiGLU MLP. Mistral
# and Qwen2 use the same module names (Qwen2 adds q/k/v biases, both may add a sliding window,
# which EncoderAccess.sliding_window reads); their forward is the same computation.
_LLAMA = ArchLayout(
    base="model",
    layers="layers",
    query="self_attn.q_proj",
    key="self_attn.k_proj",
    value="self_attn.v_proj",
    attn_out="self_attn.o_proj",
    attn_norm="input_layernorm",
    ffn_in="mlp.up_proj",
    ffn_gate="mlp.gate_proj",
    ffn_act="mlp.act_fn",
    ffn_out="mlp.down_proj",
    ffn_norm="post_attention_layernorm",
    attention_block="self_attn",
    self_attention="self_attn",
    norm_inside_blocks=False,
    ffn_block="mlp",
    pre_norm=True,
    causal=True,
    embedding="tokens",
    rotary="rotary_emb",
)
LAYOUTS.update({"llama": _LLAMA, "mistral": _LLAMA, "qwen2": _LLAMA})

# Task heads by model class: how final hidden states [B, T, d] become the task outputs.
HEAD_KINDS: dict[str, str] = {
    "BertForSequenceClassification": "pooled",
    "RobertaForSequenceClassification": "sequence",
    "XLMRobertaForSequenceClassification": "sequence",
    "ElectraForSequenceClassification": "sequence",
    "DistilBertForSequenceClassification": "distil",
    "MPNetForSequenceClassification": "sequence",  # dense-tanh-out_proj on position 0
    "BertForQuestionAnswering": "qa",
    "RobertaForQuestionAnswering": "qa",
    "XLMRobertaForQuestionAnswering": "qa",
    "ElectraForQuestionAnswering": "qa",
    "DistilBertForQuestionAnswering": "qa",
    "MPNetForQuestionAnswering": "qa",
    "LlamaForCausalLM": "causal_lm",
    "MistralForCausalLM": "causal_lm",
    "Qwen2ForCausalLM": "causal_lm",
}
SUPPORTED_MODELS: tuple[str, ...] = tuple(sorted(HEAD_KINDS))


def _pooled_head(m: Any, base: Any, hidden: torch.Tensor) -> torch.Tensor:
    return m.classifier(m.dropout(base.pooler(hidden)))  # type: ignore[no-any-return]


def _distil_head(m: Any, base: Any, hidden: torch.Tensor) -> torch.Tensor:
    pooled = torch.relu(m.pre_classifier(hidden[:, 0]))
    return m.classifier(m.dropout(pooled))  # type: ignore[no-any-return]


HEAD_FORWARD: dict[str, Callable[[Any, Any, torch.Tensor], torch.Tensor]] = {
    "pooled": _pooled_head,
    "sequence": lambda m, base, hidden: m.classifier(hidden),
    "distil": _distil_head,
    "qa": lambda m, base, hidden: m.qa_outputs(hidden),
    # next-token logits [B, T, vocab] after the final norm (pre-norm stacks end with one)
    "causal_lm": lambda m, base, hidden: m.lm_head(base.norm(hidden)),
}


def _bert_embed(base: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    out = base.embeddings(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"))
    project = getattr(base, "embeddings_project", None)  # ELECTRA-small style projection
    return project(out) if project is not None else out  # type: ignore[no-any-return]


EMBED_FORWARD: dict[str, Callable[[Any, dict[str, torch.Tensor]], torch.Tensor]] = {
    "bert": _bert_embed,
    "distilbert": lambda base, batch: base.embeddings(input_ids=batch["input_ids"]),
    # decoders: token embeddings only (positions enter through rotary q/k)
    "tokens": lambda base, batch: base.embed_tokens(batch["input_ids"]),
}
