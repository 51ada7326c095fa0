"""Typed errors raised by kprune; each message names the problem and the way out."""


class KpruneError(Exception):
    """Base class of every error kprune raises on purpose."""


class ConfigError(KpruneError, ValueError):
    """A configuration value is out of range or inconsistent."""


class CalibrationError(KpruneError, ValueError):
    """The calibration batches cannot be used (empty, missing keys, wrong shapes)."""


class UnsupportedModelError(KpruneError, TypeError):
    """The model's architecture or task head is not one kprune knows how to prune."""


class ModelStateError(KpruneError, RuntimeError):
    """The model is in a state kprune refuses to work from (e.g. training mode)."""


class BudgetUnreachableError(KpruneError, ValueError):
    """The method cannot prune down to the requested FLOPs ratio (e.g. it never removes heads)."""
