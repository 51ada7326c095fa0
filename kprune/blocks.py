"""Exact bias-only replacements for sublayers that lost every head or every neuron.

A sublayer with no units computes LayerNorm(x + output_bias) (what the masked model computes);
these modules keep that, and export to ONNX without zero-width tensors. Where the output
projection has no bias (Llama), the block adds zeros: the residual passes through unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _bias_parameter(module: nn.Module, bias: torch.Tensor | None) -> None:
    if bias is None:
        module.register_parameter("bias", None)
    else:
        module.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)


def _bias_like(bias: torch.Tensor | None, hidden_states: torch.Tensor) -> torch.Tensor:
    """What a zero-width projection outputs: its bias, or zeros when it has none."""
    return torch.zeros_like(hidden_states) if bias is None else bias.expand_as(hidden_states)


class EmptyAttention(nn.Module):
    """BERT-style attention block with zero heads: LayerNorm(x + bias); returns (out, None).
    Without a LayerNorm (DistilBERT, decoders: the layer adds the residual) it returns the bias."""

    bias: torch.Tensor | None

    def __init__(self, bias: torch.Tensor | None, layer_norm: nn.LayerNorm | None) -> None:
        super().__init__()
        _bias_parameter(self, bias)
        # None when the residual norm lives outside the block (DistilBERT, Llama).
        self.LayerNorm = layer_norm

    def forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> tuple[Any, None]:
        if self.LayerNorm is None:
            return _bias_like(self.bias, hidden_states), None
        return self.LayerNorm(hidden_states + _bias_like(self.bias, hidden_states)), None


class PassThrough(nn.Module):
    """Stands in for the FFN's first linear + activation when the FFN has zero neurons."""

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return hidden_states


class EmptyFfnOutput(nn.Module):
    """BERT-style FFN output block with zero neurons: LayerNorm(residual + bias)."""

    def __init__(self, bias: torch.Tensor, layer_norm: nn.LayerNorm) -> None:
        super().__init__()
        self.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)
        self.LayerNorm = layer_norm

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(input_tensor + self.bias)


class EmptyFfn(nn.Module):
    """DistilBERT-style FFN or decoder MLP with zero neurons: returns the output bias (zeros
    without one); the layer adds the residual (and DistilBERT its LayerNorm)."""

    bias: torch.Tensor | None

    def __init__(self, bias: torch.Tensor | None) -> None:
        super().__init__()
        _bias_parameter(self, bias)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return _bias_like(self.bias, hidden_states)
