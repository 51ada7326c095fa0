"""KCM's Representative Ranking (R2): how far each FFN neuron's weight vector can be represented by
the other neurons of its layer, from a kernelized convex-hull approximation of those vectors.

With Φ the Gaussian-kernel feature map of the layer's neuron vectors and K = ΦᵀΦ, find C ≥ 0
minimising ‖Φ − ΦC‖² = tr(K − 2KC + CᵀKC) by multiplicative updates from the uniform C = 1/N:

    C ← C ⊙ sqrt(K ⊘ (K C))

(the square-root update of convex/kernel NMF; K ≥ 0 entrywise keeps C ≥ 0). The exact optimum
is C = I, but the iterates approach it slowly for a vector close to others (it is explained by
its neighbours) and fast for an isolated one, so at the stopping point C_nn, the weight neuron n
keeps on itself, scores it: high = hard to replace, low = redundant (a duplicated vector ends
near 1/2, a shared weight). Tensors in, tensors out; it never reads data or changes a model.
"""

from __future__ import annotations

import logging
import math

import torch

from kprune.arch import EncoderAccess

log = logging.getLogger(__name__)

_TINY = 1e-30  # keeps K ⊘ (KC) finite where an entry of K underflows to 0


def neuron_weight_vectors(access: EncoderAccess, layer: int) -> torch.Tensor:
    """[neurons, 2d + 1]: each neuron's input row of W_in, its input bias, its column of W_out.

    Together they are the whole neuron: two neurons with equal vectors compute the same thing.
    """
    w_in = access.module(layer, "ffn_in")
    w_out = access.module(layer, "ffn_out").weight
    bias = w_in.bias if w_in.bias is not None else w_in.weight.new_zeros(w_in.out_features)
    return torch.cat([w_in.weight, bias[:, None], w_out.T], dim=1).detach().float()


def gaussian_kernel(vectors: torch.Tensor, width: float | None) -> torch.Tensor:
    """[n, n] K_ij = exp(-‖v_i - v_j‖² / (2σ²)); σ None: 2σ² = median off-diagonal ‖v_i - v_j‖²."""
    v = vectors.float()
    norms = v.pow(2).sum(dim=1)
    squared = (norms[:, None] + norms[None, :] - 2.0 * (v @ v.T)).clamp_min(0.0)
    squared.fill_diagonal_(0.0)
    n = squared.shape[0]
    if width is not None:
        scale = 2.0 * width**2
    elif n > 1:
        off_diagonal = squared[~torch.eye(n, dtype=torch.bool, device=squared.device)]
        scale = float(off_diagonal.median())
    else:
        scale = 1.0
    # All vectors equal (median 0): every neuron is as replaceable as the next; K = 1 says so.
    return torch.exp(-squared / scale) if scale > 0 else torch.ones_like(squared)


def representative_scores(
    vectors: torch.Tensor, width: float | None, tolerance: float, max_iterations: int
) -> torch.Tensor:
    """[n] float64 on the CPU: R2 score per vector, C_nn at the stopping point (higher = keep)."""
    kernel = gaussian_kernel(vectors, width)
    n = kernel.shape[0]
    coefficients = torch.full_like(kernel, 1.0 / n)
    iterations, change = 0, math.inf
    while iterations < max_iterations and change >= tolerance:
        updated = coefficients * (kernel / (kernel @ coefficients).clamp_min(_TINY)).sqrt()
        change = float((updated - coefficients).abs().sum() / coefficients.abs().sum())
        coefficients, iterations = updated, iterations + 1
    log.debug("KCM R2: %d vectors, %d multiplicative updates", n, iterations)
    return coefficients.diagonal().double().cpu()
