"""Baseline pruning methods beside Kprune, one per module; all share kprune's FLOPs model, masks
and surgery, and return the same dense PruneResult. Registered in kprune.registry.METHODS.
"""

from kprune.methods.kwon import run_kwon
from kprune.methods.kwon_config import KwonConfig
from kprune.methods.random_ import RandomConfig, run_random
from kprune.methods.uniform import UniformConfig, run_uniform

__all__ = [
    "KwonConfig",
    "RandomConfig",
    "UniformConfig",
    "run_kwon",
    "run_random",
    "run_uniform",
]
