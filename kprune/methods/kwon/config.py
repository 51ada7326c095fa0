"""Settings of the Kwon et al. 2022 baseline (spec §12): one frozen dataclass on top of the shared
BudgetFields, validated on construction, no side effects.
"""

from __future__ import annotations

from dataclasses import dataclass

from kprune.errors import ConfigError
from kprune.methods.base_config import BudgetFields, check_positive


@dataclass(frozen=True)
class KwonConfig(BudgetFields):
    """Kwon, Kim, Mahoney, Hassoun, Keutzer & Gholami, "A Fast Post-Training Pruning Framework for
    Transformers" (NeurIPS 2022), restated in spec §12; §11.2 quirks are decided in kwon.method.

    target_flops_ratio is Kwon's `constraint`. seed: recorded for parity with the other methods;
    every step here is deterministic given the batches (the reference seeds only its sample draw,
    which is the caller's job).
    """

    num_samples: int = 2048
    """Labelled calibration sequences the caller should draw (the paper: 2K training examples).
    Read by whoever builds the batches; kprune itself uses every batch it is given."""
    tune_masks: bool = True
    """Step 4: layer-wise least-squares scales of the kept heads/neurons, folded into W_out."""
    rearrange: bool = True
    """Step 3: per-layer mask rearrangement with the within-layer (block-diagonal) Fisher."""
    damping: float = 1.0
    """LSMR's `damp`: the scale solve adds damping² · ‖s − 1‖² (pulls scales toward 1)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(self.damping, "damping", allow_zero=True)
        if isinstance(self.num_samples, bool) or not isinstance(self.num_samples, int):
            raise ConfigError(f"num_samples must be an int, got {self.num_samples!r}")
        if self.num_samples < 1:
            raise ConfigError(f"num_samples={self.num_samples} must be >= 1")
        for name in ("tune_masks", "rearrange"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be True or False, got {getattr(self, name)!r}")
