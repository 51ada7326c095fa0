"""Streamed least-squares statistics (AᵀA, AᵀB, ‖B‖²) shared by Kprune's weight tuning and Kwon
et al.'s mask tuning: per-batch products in float32, sums in float64, so no N_tok×d matrix is
kept. It accumulates only; solving is each method's business.
"""

from __future__ import annotations

import torch


class GramAccumulator:
    """Sufficient statistics of min_W ‖A·W − B‖² over streamed row blocks."""

    def __init__(self) -> None:
        self.gram: torch.Tensor | None = None  # [n, n] float64
        self.cross: torch.Tensor | None = None  # [n, d] float64
        self.target_energy = 0.0
        self.rows = 0

    def add(self, features: torch.Tensor, target: torch.Tensor) -> None:
        """features A: [N, n]; target B: [N, d] (rows = non-pad tokens)."""
        a, b = features.detach().float(), target.detach().float()
        gram, cross = (a.T @ a).double(), (a.T @ b).double()
        if self.gram is None or self.cross is None:
            self.gram, self.cross = gram, cross
        else:
            self.gram += gram
            self.cross += cross
        self.target_energy += float(b.double().pow(2).sum())
        self.rows += int(a.shape[0])
