"""What a sweep seed changes (`BenchmarkConfig.seeds`): the calibration draw, the fine-tuned
model and the seed of seeded methods, each offset by the seed, so seed 0 is the config as
written. Pure: configs in, configs out.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.config.schema import BenchmarkConfig


def seeded_config(config: BenchmarkConfig, seed: int) -> BenchmarkConfig:
    """The config whose inputs seed `seed` loads: calibration drawn with calibration.seed +
    seed, and model.seed + seed (a fine-tuned model trains with its preset's seed + model.seed;
    a random-weight model draws its weights from it; a checkpoint's weights do not change)."""
    if seed == 0:
        return config
    calibration = dataclasses.replace(config.calibration, seed=config.calibration.seed + seed)
    model = dataclasses.replace(config.model, seed=config.model.seed + seed)
    return dataclasses.replace(config, calibration=calibration, model=model)


def seeded_method_config(method_config: Any, seed: int) -> Any:
    """A method's config with its own `seed` (random pruning's draw, Kprune's RNG) offset by
    the sweep seed; unchanged for a method without one."""
    if seed == 0 or not any(f.name == "seed" for f in dataclasses.fields(method_config)):
        return method_config
    return dataclasses.replace(method_config, seed=method_config.seed + seed)
