"""Kwon et al. 2022 ("A Fast Post-Training Pruning Framework for Transformers") as a pruning
method: config, Fisher, search, rearrangement, mask tuning and the method. No side effects.
"""

from kprune.methods.kwon.config import KwonConfig
from kprune.methods.kwon.method import run_kwon

__all__ = ["KwonConfig", "run_kwon"]
