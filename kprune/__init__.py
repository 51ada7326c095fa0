"""Kprune: retraining-free structured pruning of encoder language models and Llama-style decoders.

Public API only; importing has no side effects.
"""

from kprune.arch import SUPPORTED_MODELS, EncoderAccess
from kprune.errors import (
    BudgetUnreachableError,
    CalibrationError,
    ConfigError,
    KpruneError,
    ModelStateError,
    UnsupportedModelError,
)
from kprune.flops import (
    FlopsReport,
    attention_unit_flops,
    encoder_flops,
    head_flops,
    model_flops,
    neuron_flops,
)
from kprune.masks import Masks
from kprune.methods import KcmConfig, KpruneConfig, KwonConfig, RandomConfig, UniformConfig
from kprune.params import ParamsReport
from kprune.registry import (
    METHOD_CONFIGS,
    METHOD_VARIANTS,
    METHODS,
    make_config,
    method_names,
    prune,
)
from kprune.result import PruneResult, SublayerLog
from kprune.serialization import load_pruned, save_pruned
from kprune.structure import EncoderShape, encoder_shape
from kprune.surgery import count_parameters, remove_pruned_units

__all__ = [
    "SUPPORTED_MODELS",
    "BudgetUnreachableError",
    "CalibrationError",
    "ConfigError",
    "EncoderAccess",
    "EncoderShape",
    "FlopsReport",
    "KcmConfig",
    "KpruneConfig",
    "KpruneError",
    "KwonConfig",
    "METHODS",
    "METHOD_CONFIGS",
    "METHOD_VARIANTS",
    "Masks",
    "ModelStateError",
    "ParamsReport",
    "PruneResult",
    "RandomConfig",
    "SublayerLog",
    "UniformConfig",
    "UnsupportedModelError",
    "attention_unit_flops",
    "count_parameters",
    "encoder_flops",
    "encoder_shape",
    "head_flops",
    "load_pruned",
    "make_config",
    "method_names",
    "model_flops",
    "neuron_flops",
    "prune",
    "remove_pruned_units",
    "save_pruned",
]
