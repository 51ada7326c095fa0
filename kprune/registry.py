"""One registry of pruning methods: name -> (config class, function); `prune` dispatches on the
config's exact type. It holds no method logic of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from kprune.errors import ConfigError
from kprune.methods import (
    KcmConfig,
    KpruneConfig,
    KwonConfig,
    RandomConfig,
    UniformConfig,
    run_kcm,
    run_kprune,
    run_kwon,
    run_random,
    run_uniform,
)
from kprune.methods.budget import SublayerCallback
from kprune.result import PruneResult

PruneFunction = Callable[..., PruneResult]

METHODS: dict[str, tuple[type, PruneFunction]] = {
    "kprune": (KpruneConfig, run_kprune),
    "kwon": (KwonConfig, run_kwon),
    "uniform": (UniformConfig, run_uniform),
    "random": (RandomConfig, run_random),
    "kcm": (KcmConfig, run_kcm),
}
METHOD_CONFIGS: dict[str, type] = {name: entry[0] for name, entry in METHODS.items()}

# Named variants (ablations): method name -> (base method, field overrides). Data, not branches.
METHOD_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "kprune-no-tuning": ("kprune", {"tune_weights": False}),
    "kprune-pred-only": ("kprune", {"rep_weight": 0.0}),
    "kprune-rep-only": ("kprune", {"pred_weight": 0.0}),
    # lambda_rep around the default 2.5e-4 (the paper's ablation range)
    "kprune-rep-1e-5": ("kprune", {"rep_weight": 1e-5}),
    "kprune-rep-1e-3": ("kprune", {"rep_weight": 1e-3}),
    # predictive knowledge from labels drawn from the teacher (nonzero at the first sublayer;
    # classification and causal LM); the decoder preset runs it without the refit
    "kprune-sampled": ("kprune", {"predictive_target": "sampled"}),
    "kprune-sampled-no-tuning": ("kprune", {"predictive_target": "sampled", "tune_weights": False}),
    "kcm-no-rescaling": ("kcm", {"rescale": False}),
}


def method_names() -> tuple[str, ...]:
    return tuple(METHODS) + tuple(METHOD_VARIANTS)


def make_config(method: str, **fields: Any) -> Any:
    """Config for ``method`` (a method or a variant); ``fields`` override its defaults."""
    base, overrides = METHOD_VARIANTS.get(method, (method, {}))
    if base not in METHODS:
        raise ConfigError(f"unknown pruning method {method!r}; known: {', '.join(method_names())}")
    return METHODS[base][0](**{**overrides, **fields})


def prune(
    model: nn.Module,
    calibration_batches: Sequence[dict[str, torch.Tensor]],
    config: Any,
    on_sublayer: SublayerCallback | None = None,
) -> PruneResult:
    """Prune ``model`` with the method whose config ``config`` is; returns a dense pruned copy.

    on_sublayer: called with each SublayerLog as a sublayer-wise method finishes it (progress).
    """
    for config_class, function in METHODS.values():
        if type(config) is config_class:
            return function(model, calibration_batches, config, on_sublayer)
    known = ", ".join(f"{n} ({c.__name__})" for n, (c, _) in METHODS.items())
    raise ConfigError(f"no pruning method takes a {type(config).__name__}; known: {known}")
