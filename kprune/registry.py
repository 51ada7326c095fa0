"""One registry of pruning methods: config class -> function. `prune` dispatches through it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from kprune.config import KpruneConfig
from kprune.errors import ConfigError
from kprune.pipeline import SublayerCallback, run_kprune
from kprune.result import PruneResult

PruneFunction = Callable[..., PruneResult]

METHODS: dict[str, tuple[type, PruneFunction]] = {
    "kprune": (KpruneConfig, run_kprune),
}
METHOD_CONFIGS: dict[str, type] = {name: entry[0] for name, entry in METHODS.items()}


def method_configs() -> dict[str, type]:
    """Method name -> its frozen config class."""
    return {name: entry[0] for name, entry in METHODS.items()}


def prune(
    model: nn.Module,
    calibration_batches: Sequence[dict[str, torch.Tensor]],
    config: Any,
    on_sublayer: SublayerCallback | None = None,
) -> PruneResult:
    """Prune ``model`` with the method whose config ``config`` is; returns a dense pruned copy."""
    for config_class, function in METHODS.values():
        if type(config) is config_class:
            return function(model, calibration_batches, config, on_sublayer)
    known = ", ".join(f"{n} ({c.__name__})" for n, (c, _) in METHODS.items())
    raise ConfigError(f"no pruning method takes a {type(config).__name__}; known: {known}")
