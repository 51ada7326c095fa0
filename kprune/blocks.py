"""Exact bias-only replacements for sublayers that lost every head or every neuron.

A sublayer with no units computes LayerNorm(x + output_bias) (what the masked model computes);
these modules keep that, and export to ONNX without zero-width tensors.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class EmptyAttention(nn.Module):
    """BERT-style attention block with zero heads: LayerNorm(x + bias); returns (out, None)."""

    def __init__(self, bias: torch.Tensor, layer_norm: nn.LayerNorm | None) -> None:
        super().__init__()
        self.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)
        # None when the residual LayerNorm lives outside the block (DistilBERT).
        self.LayerNorm = layer_norm

    def forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> tuple[Any, None]:
        if self.LayerNorm is None:
            return self.bias.expand_as(hidden_states), None
        return self.LayerNorm(hidden_states + self.bias), None


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
    """DistilBERT-style FFN with zero neurons: returns the output bias (the block adds x + LN)."""

    def __init__(self, bias: torch.Tensor) -> None:
        super().__init__()
        self.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.bias.expand_as(hidden_states)
