"""The only module that knows Hugging Face module paths: per-architecture layouts and accessors.

Everything else in kprune reaches q/k/v/o, FFN and norm modules, embeddings, rotary tables and the
task head through `EncoderAccess`. It reads and swaps modules; it never decides what to prune.
Covers post-norm encoders (BERT family, MPNet) and pre-norm Llama-style decoders (Llama, Mistral,
Qwen2: RMSNorm, rotary, GQA, SwiGLU, causal LM head).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from kprune.blocks import EmptyAttention, EmptyFfn, EmptyFfnOutput, PassThrough
from kprune.errors import UnsupportedModelError
from kprune.position_bias import keep_heads, layer_bias


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
    embedding: str = "bert"  # key of _EMBED: how input_ids become the first hidden states
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
_HEADS: dict[str, str] = {
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
SUPPORTED_MODELS: tuple[str, ...] = tuple(sorted(_HEADS))


def _pooled_head(m: Any, base: Any, hidden: torch.Tensor) -> torch.Tensor:
    return m.classifier(m.dropout(base.pooler(hidden)))  # type: ignore[no-any-return]


def _distil_head(m: Any, base: Any, hidden: torch.Tensor) -> torch.Tensor:
    pooled = torch.relu(m.pre_classifier(hidden[:, 0]))
    return m.classifier(m.dropout(pooled))  # type: ignore[no-any-return]


_HEAD_FORWARD: dict[str, Callable[[Any, Any, torch.Tensor], torch.Tensor]] = {
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


_EMBED: dict[str, Callable[[Any, dict[str, torch.Tensor]], torch.Tensor]] = {
    "bert": _bert_embed,
    "distilbert": lambda base, batch: base.embeddings(input_ids=batch["input_ids"]),
    # decoders: token embeddings only (positions enter through rotary q/k)
    "tokens": lambda base, batch: base.embed_tokens(batch["input_ids"]),
}


def _get(root: nn.Module, path: str) -> Any:
    obj: Any = root
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _set(root: nn.Module, path: str, module: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = _get(root, parent_path) if parent_path else root
    setattr(parent, name, module)


def _unsupported(model: nn.Module) -> UnsupportedModelError:
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    return UnsupportedModelError(
        f"{type(model).__name__} (model_type={model_type!r}) is not supported; supported task "
        f"models: {', '.join(SUPPORTED_MODELS)} (decoder families: "
        f"{', '.join(sorted(k for k, v in LAYOUTS.items() if v.causal))}). Load an encoder "
        "checkpoint with AutoModelForSequenceClassification or AutoModelForQuestionAnswering, "
        "a Llama-style decoder with AutoModelForCausalLM."
    )


class EncoderAccess:
    """Typed access to the sublayers, embeddings and head of one supported task model.

    Attention is pruned in units: one head (multi-head attention), or one key/value group with
    its ``heads_per_unit`` query heads (grouped-query attention, GQA). A unit's query heads are
    adjacent in q_proj and o_proj (HF repeats each k/v head over consecutive query heads), so a
    unit spans ``unit_width`` = heads_per_unit·d_h adjacent context dims, and one k/v head.
    """

    def __init__(self, model: nn.Module) -> None:
        config = getattr(model, "config", None)
        head = _HEADS.get(type(model).__name__)
        layout = LAYOUTS.get(getattr(config, "model_type", ""))
        if head is None or layout is None:
            raise _unsupported(model)
        self.model = model
        self.config = config
        self.layout = layout
        self.head_kind = head
        self.base: nn.Module = getattr(model, layout.base)
        self.layers: nn.ModuleList = _get(self.base, layout.layers)
        n_heads = getattr(config, "num_attention_heads", None) or config.n_heads
        hidden = getattr(config, "hidden_size", None) or config.dim
        # decoders may set head_dim apart from hidden/heads; encoders' configs have none
        self.head_size: int = getattr(config, "head_dim", None) or hidden // n_heads
        self.original_heads: int = n_heads  # per layer, before any pruning (the config's)
        self.hidden_size: int = hidden
        kv_heads = getattr(config, "num_key_value_heads", None) or n_heads
        if n_heads % kv_heads:
            raise UnsupportedModelError(
                f"{n_heads} query heads do not split into {kv_heads} key/value groups"
            )
        self.heads_per_unit: int = n_heads // kv_heads  # query heads per attention unit
        self.unit_width: int = self.heads_per_unit * self.head_size  # context dims per unit

    # --- sublayer modules -------------------------------------------------------------------
    def module(self, layer: int, role: str) -> Any:
        """The module playing ``role`` (a field of ArchLayout) in encoder layer ``layer``."""
        return _get(self.layers[layer], getattr(self.layout, role))

    def replace(self, layer: int, role: str, module: nn.Module) -> None:
        _set(self.layers[layer], getattr(self.layout, role), module)

    def attention_is_empty(self, layer: int) -> bool:
        return isinstance(_get(self.layers[layer], self.layout.attention_block), EmptyAttention)

    def ffn_is_empty(self, layer: int) -> bool:
        block = getattr(self.layers[layer], self.layout.ffn_block)
        return isinstance(block, (EmptyFfn, EmptyFfnOutput))

    def num_heads(self, layer: int) -> int:
        """Query heads of ``layer`` now (0 for an empty attention block)."""
        if self.attention_is_empty(layer):
            return 0
        return int(self.module(layer, "query").out_features) // self.head_size

    def num_units(self, layer: int) -> int:
        """Attention units of ``layer`` now: heads (MHA) or key/value groups (GQA)."""
        return self.num_heads(layer) // self.heads_per_unit

    def num_neurons(self, layer: int) -> int:
        if self.ffn_is_empty(layer):
            return 0
        return int(self.module(layer, "ffn_in").out_features)

    def attn_bias(self, layer: int) -> torch.Tensor | None:
        """Output-projection bias [d]; None where the projection has none (Llama)."""
        if self.attention_is_empty(layer):
            return _get(self.layers[layer], self.layout.attention_block).bias  # type: ignore[no-any-return]
        return self.module(layer, "attn_out").bias  # type: ignore[no-any-return]

    def ffn_bias(self, layer: int) -> torch.Tensor | None:
        """FFN output bias [d]; None where the projection has none (Llama)."""
        if self.ffn_is_empty(layer):
            return getattr(self.layers[layer], self.layout.ffn_block).bias  # type: ignore[no-any-return]
        return self.module(layer, "ffn_out").bias  # type: ignore[no-any-return]

    def attn_norm(self, layer: int) -> nn.LayerNorm:
        if self.attention_is_empty(layer) and self.layout.norm_inside_blocks:
            return _get(self.layers[layer], self.layout.attention_block).LayerNorm
        return self.module(layer, "attn_norm")

    def ffn_norm(self, layer: int) -> nn.LayerNorm:
        if self.ffn_is_empty(layer) and self.layout.norm_inside_blocks:
            return self.layers[layer].output.LayerNorm
        return self.module(layer, "ffn_norm")

    def activation(self, layer: int) -> Callable[[torch.Tensor], torch.Tensor]:
        return self.module(layer, "ffn_act")  # type: ignore[no-any-return]

    def ffn_input_roles(self) -> tuple[str, ...]:
        """Roles of the linears whose output rows are the FFN's neurons (SwiGLU: gate and up)."""
        return ("ffn_in",) if self.layout.ffn_gate is None else ("ffn_gate", "ffn_in")

    def rotary_tables(
        self, x: torch.Tensor, seq_len: int
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(cos, sin) [1, T, d_h] for positions 0..T-1, as the HF decoder computes them when it
        is given no position_ids (padding included in the count, as HF does); None: no rotary."""
        if self.layout.rotary is None:
            return None
        positions = torch.arange(seq_len, device=x.device)[None, :]
        cos, sin = _get(self.base, self.layout.rotary)(x, position_ids=positions)
        return cos, sin

    def sliding_window(self, layer: int) -> int | None:
        """Keys further back than this many positions are masked in ``layer``; None: no window.
        Mistral sets one window for all layers, Qwen2 per layer through config.layer_types."""
        window = getattr(self.config, "sliding_window", None) if self.layout.causal else None
        layer_types = getattr(self.config, "layer_types", None)
        if window is not None and layer_types is not None:
            return int(window) if layer_types[layer] == "sliding_attention" else None
        return None if window is None else int(window)

    def record_kept_heads(self, layer: int, kept: torch.Tensor) -> None:
        """Call once q/k/v/o of ``layer`` keep only the units ``kept`` [n] (indices among its
        units before the cut). HF 5.x infers head counts from the q/k/v widths (Llama: every
        count, its k/v repeat factor stays); this keeps the encoders' bookkeeping ints true and,
        with a shared position bias, the layer's slices of it."""
        if self.layout.shared_position_bias is not None:
            module = self.module(layer, "self_attention")
            attn = keep_heads(module, kept, self.original_heads, self.head_size)
            _set(self.layers[layer], self.layout.self_attention, attn)
        module = self.module(layer, "self_attention")
        heads = int(kept.numel()) * self.heads_per_unit
        if hasattr(module, "num_attention_heads"):
            module.num_attention_heads = heads
            module.all_head_size = heads * self.head_size
        if hasattr(module, "n_heads"):
            module.n_heads = heads

    def attention_bias(self, layer: int, seq_len: int) -> torch.Tensor | None:
        """Additive position bias [1, heads, T, T] (T = seq_len) that the kept heads of
        ``layer`` add to their attention scores; None when the architecture has none."""
        if self.layout.shared_position_bias is None or self.attention_is_empty(layer):
            return None
        encoder = _get(self.base, self.layout.shared_position_bias)
        # the call the HF encoder makes: relative positions only, so one row serves the batch
        anchor = encoder.relative_attention_bias.weight.new_empty(1, seq_len, 0)
        return layer_bias(
            encoder.compute_position_bias(anchor), self.module(layer, "self_attention")
        )

    # --- empty blocks -----------------------------------------------------------------------
    def make_attention_empty(self, layer: int) -> None:
        """Swap a zero-head attention block for the exact bias-only block."""
        norm = self.module(layer, "attn_norm") if self.layout.norm_inside_blocks else None
        block = EmptyAttention(self.module(layer, "attn_out").bias, norm)
        _set(self.layers[layer], self.layout.attention_block, block)

    def make_ffn_empty(self, layer: int) -> None:
        """Swap a zero-neuron FFN for the exact bias-only block."""
        bias = self.module(layer, "ffn_out").bias
        lyr = self.layers[layer]
        if self.layout.norm_inside_blocks:
            norm = self.module(layer, "ffn_norm")
            lyr.intermediate = PassThrough()
            lyr.output = EmptyFfnOutput(bias, norm)
        else:  # DistilBERT's ffn, a decoder's mlp: the layer adds the block's output to x
            setattr(lyr, self.layout.ffn_block, EmptyFfn(bias))

    # --- embeddings and head ------------------------------------------------------------------
    def embed(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Embedding output [B, T, d] (dropout inactive in eval mode)."""
        return _EMBED[self.layout.embedding](self.base, batch)

    def head(self, hidden: torch.Tensor) -> torch.Tensor:
        """Task outputs from final hidden states: logits [B, C], [B, T, 2] start/end for QA, or
        next-token logits [B, T, vocab] for a causal LM."""
        return _HEAD_FORWARD[self.head_kind](self.model, self.base, hidden)

    @property
    def head_reads_first_position(self) -> bool:
        """True when the head reads only position 0 of each sequence (CLS pooling, DistilBERT,
        RoBERTa-style heads); extractive QA and causal LM heads read every position."""
        return self.head_kind not in ("qa", "causal_lm")

    def task_kind(self) -> str:
        """classification, regression, qa or causal_lm, read from the head and the config."""
        if self.head_kind in ("qa", "causal_lm"):
            return self.head_kind
        if self.config.num_labels == 1 or self.config.problem_type == "regression":
            return "regression"
        if self.config.problem_type == "multi_label_classification":
            raise UnsupportedModelError(
                "multi-label classification heads are not supported; use single-label "
                "classification, regression or extractive QA"
            )
        return "classification"
