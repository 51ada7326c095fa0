"""Kprune (Park, Choi & Kang, ICLR 2024) as one pruning method among peers: config, knowledge,
losses, weight tuning and the sublayer loop. Importing has no side effects.
"""

from kprune.methods.kprune.config import KpruneConfig
from kprune.methods.kprune.loop import run_kprune

__all__ = ["KpruneConfig", "run_kprune"]
