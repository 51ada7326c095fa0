"""The pruning methods, peers of one another: Kprune, Kwon et al. and KCM (one package each),
uniform magnitude and random (one module each). All share base_config's fields, budget's copy/FLOPs
scaffolding, and kprune's masks and surgery; registered in kprune.registry.METHODS.
"""

from kprune.methods.kcm import KcmConfig, run_kcm
from kprune.methods.kprune import KpruneConfig, run_kprune
from kprune.methods.kwon import KwonConfig, run_kwon
from kprune.methods.random_ import RandomConfig, run_random
from kprune.methods.uniform import UniformConfig, run_uniform

__all__ = [
    "KcmConfig",
    "KpruneConfig",
    "KwonConfig",
    "RandomConfig",
    "UniformConfig",
    "run_kcm",
    "run_kprune",
    "run_kwon",
    "run_random",
    "run_uniform",
]
