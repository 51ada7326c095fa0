"""The gate's section of the schema (`[gate]` in a config): how `kprune-bench gate` re-times a
trial and decides. Defaults live here only; `harness.config.schema.BenchmarkConfig` holds one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import ConfigError


def require(condition: bool, message: str) -> None:
    """ConfigError(message) unless `condition`."""
    if not condition:
        raise ConfigError(message)


GATE_GROUP_KEYS = ("tol_ratio", "rounds_min", "rounds_max", "block_calls", "warmup_calls")
"""Settings a `[gate.groups."<glob>"]` table may override for the trials its glob matches."""


@dataclass(frozen=True)
class GateSpec:
    """How `kprune-bench gate` measures a trial's speedup and decides (see harness/gate/).

    A trial's floor is baseline speedup x (1 - tol); its rounds stop once the CI half-width is
    at most tol/3 (or at rounds_max); a regression needs a confirmation re-measure of 2R rounds.
    """

    tol_cpu_ratio: float = 0.10
    """Allowed relative speedup loss on CPU trials (shared runners swing; 10% holds there)."""
    tol_gpu_ratio: float = 0.05
    """Allowed relative speedup loss on CUDA trials (meant for a dedicated GPU)."""
    rounds_min: int = 10
    rounds_max: int = 30
    block_calls: int = 10
    """Calls in each dense block and each pruned block of a round (k)."""
    warmup_calls: int = 3
    """Untimed calls of each model before the first round."""
    confidence: float = 0.99
    """Two-sided level of the paired bootstrap CI over rounds."""
    n_boot: int = 2000
    accuracy_fail_points: float = 0.5
    """A metric drop (in points: 100 x the metric) beyond this at the same (method, ratio,
    seed) fails the gate."""
    accuracy_warn_points: float = 0.1
    groups: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per trial group overrides: a glob on the trial key -> settings, e.g.
    `[gate.groups."*|onnxruntime/*"]` with `tol_ratio = 0.15` (later globs win)."""

    def __post_init__(self) -> None:
        for name in ("tol_cpu_ratio", "tol_gpu_ratio"):
            value = getattr(self, name)
            require(0.0 < value < 1.0, f"gate.{name} must be in (0, 1), got {value}")
        _check_rounds(self.rounds_min, self.rounds_max, "gate")
        require(self.block_calls > 0, f"gate.block_calls must be > 0, got {self.block_calls}")
        require(self.warmup_calls >= 0, "gate.warmup_calls must be >= 0")
        require(
            0.5 < self.confidence < 1.0,
            f"gate.confidence must be in (0.5, 1), got {self.confidence}",
        )
        require(self.n_boot >= 100, f"gate.n_boot must be >= 100, got {self.n_boot}")
        require(
            0 <= self.accuracy_warn_points <= self.accuracy_fail_points,
            "need 0 <= gate.accuracy_warn_points <= gate.accuracy_fail_points",
        )
        for pattern, overrides in self.groups.items():
            _check_gate_group(pattern, overrides)


def _check_rounds(rounds_min: Any, rounds_max: Any, where: str) -> None:
    require(
        isinstance(rounds_min, int)
        and isinstance(rounds_max, int)
        and 2 <= rounds_min <= rounds_max,
        f"{where}: need 2 <= rounds_min <= rounds_max, got {rounds_min}, {rounds_max}",
    )


def _check_gate_group(pattern: str, overrides: Any) -> None:
    where = f"gate.groups.{pattern!r}"
    require(isinstance(overrides, Mapping), f"{where} must be a table of gate settings")
    unknown = sorted(set(overrides) - set(GATE_GROUP_KEYS))
    require(not unknown, f"{where}: unknown keys {unknown}; allowed: {list(GATE_GROUP_KEYS)}")
    tol = overrides.get("tol_ratio", 0.5)
    require(isinstance(tol, int | float) and 0 < tol < 1, f"{where}.tol_ratio must be in (0, 1)")
    for name in ("block_calls", "warmup_calls", "rounds_min", "rounds_max"):
        value = overrides.get(name, 1)
        require(isinstance(value, int) and value >= 0, f"{where}.{name} must be an integer >= 0")
