"""The gate settings of one trial: the config's `GateSpec`, the tolerance of the trial's device
class, and the `[gate.groups."<glob>"]` overrides whose glob matches its trial key. Pure.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass

from harness.config.gate_spec import GateSpec


@dataclass(frozen=True)
class TrialSettings:
    """What the rounds and the verdict of one trial use."""

    tol_ratio: float
    rounds_min: int
    rounds_max: int
    block_calls: int
    warmup_calls: int
    confidence: float
    n_boot: int

    @property
    def target_half_width_ratio(self) -> float:
        """Rounds are added until the CI half-width is at most this (tol/3)."""
        return self.tol_ratio / 3.0


def settings_for(spec: GateSpec, trial_key: str, device: str) -> TrialSettings:
    """Settings of the trial `trial_key` on `device` ("cpu" or "cuda")."""
    settings = TrialSettings(
        tol_ratio=spec.tol_gpu_ratio if device == "cuda" else spec.tol_cpu_ratio,
        rounds_min=spec.rounds_min,
        rounds_max=spec.rounds_max,
        block_calls=spec.block_calls,
        warmup_calls=spec.warmup_calls,
        confidence=spec.confidence,
        n_boot=spec.n_boot,
    )
    for pattern, overrides in spec.groups.items():
        if fnmatch.fnmatchcase(trial_key, pattern):
            settings = dataclasses.replace(settings, **dict(overrides))
    if not 2 <= settings.rounds_min <= settings.rounds_max:
        raise ValueError(
            f"{trial_key}: gate groups leave rounds_min {settings.rounds_min} > rounds_max "
            f"{settings.rounds_max}; fix the [gate.groups] tables that match it"
        )
    return settings
