"""Kprune: retraining-free structured pruning of encoder language models.

Public API only; importing has no side effects.
"""

from kprune.arch import SUPPORTED_MODELS, EncoderAccess
from kprune.config import KpruneConfig
from kprune.errors import (
    CalibrationError,
    ConfigError,
    KpruneError,
    ModelStateError,
    UnsupportedModelError,
)
from kprune.flops import FlopsReport, encoder_flops, head_flops, neuron_flops
from kprune.masks import Masks
from kprune.registry import METHOD_CONFIGS, METHODS, method_configs, prune
from kprune.result import PruneResult, SublayerLog
from kprune.structure import EncoderShape, encoder_shape
from kprune.surgery import count_parameters, remove_pruned_units
from kprune.serialization import load_pruned, save_pruned

__all__ = [
    "SUPPORTED_MODELS",
    "CalibrationError",
    "ConfigError",
    "EncoderAccess",
    "EncoderShape",
    "FlopsReport",
    "KpruneConfig",
    "KpruneError",
    "METHODS",
    "METHOD_CONFIGS",
    "Masks",
    "ModelStateError",
    "PruneResult",
    "SublayerLog",
    "UnsupportedModelError",
    "count_parameters",
    "encoder_flops",
    "encoder_shape",
    "head_flops",
    "load_pruned",
    "method_configs",
    "neuron_flops",
    "prune",
    "remove_pruned_units",
    "save_pruned",
]
