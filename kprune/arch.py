"""The only module that reads and swaps Hugging Face modules, through the per-architecture
layouts of `kprune.layouts`.

Everything else in kprune reaches q/k/v/o, FFN and norm modules, embeddings, rotary tables and the
task head through `EncoderAccess`. It reads and swaps modules; it never decides what to prune.
Covers post-norm encoders (BERT family, MPNet) and pre-norm Llama-style decoders (Llama, Mistral,
Qwen2: RMSNorm, rotary, GQA, SwiGLU, causal LM head).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from kprune.blocks import EmptyAttention, EmptyFfn, EmptyFfnOutput, PassThrough
from kprune.errors import UnsupportedModelError
from kprune.layouts import (
    EMBED_FORWARD,
    HEAD_FORWARD,
    HEAD_KINDS,
    LAYOUTS,
    SUPPORTED_MODELS,
    ArchLayout,
)
from kprune.position_bias import keep_heads, layer_bias

__all__ = ["LAYOUTS", "SUPPORTED_MODELS", "ArchLayout", "EncoderAccess"]


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
        head = HEAD_KINDS.get(type(model).__name__)
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
        return EMBED_FORWARD[self.layout.embedding](self.base, batch)

    def head(self, hidden: torch.Tensor) -> torch.Tensor:
        """Task outputs from final hidden states: logits [B, C], [B, T, 2] start/end for QA, or
        next-token logits [B, T, vocab] for a causal LM."""
        return HEAD_FORWARD[self.head_kind](self.model, self.base, hidden)

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
