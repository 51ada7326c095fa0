"""Settings of the KCM baseline (spec §13): one frozen dataclass on top of the shared BudgetFields,
validated on construction, no side effects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kprune.errors import ConfigError
from kprune.methods.base_config import BudgetFields, check_positive


def _check_unit_interval(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ConfigError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}={value!r} is outside [0, 1]; 0.5 weighs R2 and D2 equally")


@dataclass(frozen=True)
class KcmConfig(BudgetFields):
    """Nova, Dai & Schuurmans, "Gradient-Free Structured Pruning with Unlabeled Data" (ICML 2023):
    Kernelized Convex Masking. Prunes FFN neurons only, from weights and unlabeled text; no
    labels and no gradients. kprune.methods.kcm says where this deviates from the paper.

    target_flops_ratio must stay above the encoder's attention share (every head is kept):
    below it `run_kcm` raises BudgetUnreachableError naming the lowest reachable ratio.
    seed: recorded for parity with the other methods; every step here is deterministic given
    the batches (drawing the unlabeled sample is the caller's job).
    """

    r2_weight: float = 0.5
    """Weight of the R2 (representative) rank in R2D2; D2 (data-driven) gets 1 - this. 0.5 is
    the paper's plain combination of the two ranks; 1.0 = R2 only, 0.0 = D2 only."""
    kernel_width: float | None = None
    """σ of the Gaussian kernel k(a, b) = exp(-‖a - b‖² / (2σ²)) between neuron weight vectors.
    None: the median heuristic per layer (2σ² = median pairwise squared distance)."""
    convex_tolerance: float = 1e-3
    """R2's multiplicative updates stop once Σ|ΔC| / Σ|C| falls below this ("α" of the KCM
    iteration)."""
    convex_max_iterations: int = 200
    """Upper bound on R2's multiplicative updates per layer."""
    rescale: bool = True
    """Kwon et al.'s layer-wise least-squares rescaling of the kept neurons' mask values."""
    damping: float = 1.0
    """Rescaling's LSMR-style damping (as in Kwon et al.): adds damping² · ‖s − 1‖²."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_unit_interval(self.r2_weight, "r2_weight")
        check_positive(self.kernel_width, "kernel_width")
        check_positive(self.convex_tolerance, "convex_tolerance")
        check_positive(self.damping, "damping", allow_zero=True)
        iterations = self.convex_max_iterations
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise ConfigError(f"convex_max_iterations must be an int >= 1, got {iterations!r}")
        if not isinstance(self.rescale, bool):
            raise ConfigError(f"rescale must be True or False, got {self.rescale!r}")
