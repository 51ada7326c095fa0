"""Settings of the Kwon et al. 2022 baseline (spec §12): one frozen dataclass, validated on
construction, no side effects.
"""

from __future__ import annotations

from dataclasses import dataclass

from kprune.config import check_positive
from kprune.errors import ConfigError
from kprune.methods.budget import check_budget_fields


@dataclass(frozen=True)
class KwonConfig:
    """Kwon, Kim, Mahoney, Hassoun, Keutzer & Gholami, "A Fast Post-Training Pruning Framework for
    Transformers" (NeurIPS 2022), restated in spec §12; §11.2 quirks are decided in kwon.py."""

    target_flops_ratio: float = 0.5
    """Kept/original encoder FLOPs in (0, 1] under Kprune's FLOPs model (Kwon's `constraint`)."""
    num_samples: int = 2048
    """Labelled calibration sequences the caller should draw (the paper: 2K training examples).
    Read by whoever builds the batches; kprune itself uses every batch it is given."""
    tune_masks: bool = True
    """Step 4: layer-wise least-squares scales of the kept heads/neurons, folded into W_out."""
    rearrange: bool = True
    """Step 3: per-layer mask rearrangement with the within-layer (block-diagonal) Fisher."""
    damping: float = 1.0
    """LSMR's `damp`: the scale solve adds damping² · ‖s − 1‖² (pulls scales toward 1)."""
    seq_len: float | None = None
    """Sequence length s of the FLOPs model; None = mean non-pad length of the calibration set."""
    seed: int = 0
    """Recorded for parity with the other methods; every step here is deterministic given the
    batches (the reference seeds only its sample draw, which is the caller's job)."""
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_budget_fields(self.target_flops_ratio, self.seq_len, self.device)
        check_positive(self.damping, "damping", allow_zero=True)
        if isinstance(self.num_samples, bool) or not isinstance(self.num_samples, int):
            raise ConfigError(f"num_samples must be an int, got {self.num_samples!r}")
        if self.num_samples < 1:
            raise ConfigError(f"num_samples={self.num_samples} must be >= 1")
        for name in ("tune_masks", "rearrange"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be True or False, got {getattr(self, name)!r}")
