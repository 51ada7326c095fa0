"""Keys that name a prune point and a timing trial in stored results, and the dense method's name.

Pure strings from plain values; what `--resume`, merging and comparisons match on.
"""

from __future__ import annotations

from typing import Any

DENSE_METHOD = "dense"
"""Method name of the unpruned reference point (flops ratio 1.0), measured once per sweep."""


def ratio_text(ratio: float) -> str:
    """A ratio as it appears in keys: the shortest text that reads back as the same float, so
    two ratios that differ in any bit never share a key (`0.5`, `0.3333333333333333`)."""
    return repr(float(ratio))


def point_key(method: str, target_flops_ratio: float) -> str:
    """`kprune@0.5`."""
    return f"{method}@{ratio_text(target_flops_ratio)}"


def trial_key(
    method: str,
    target_flops_ratio: float,
    backend: str,
    variant: str,
    device: str,
    dtype: str,
    batch_size: int,
    seq_len: int,
) -> str:
    """`kprune@0.5|torch/eager/cpu/float32|b8|s128`; threads are not part of the key."""
    runtime = f"{backend}/{variant}/{device}/{dtype}"
    return f"{point_key(method, target_flops_ratio)}|{runtime}|b{batch_size}|s{seq_len}"


def measurement_key(measurement: Any) -> str:
    """The trial key of a stored `Measurement` (or any object with the same attributes)."""
    m = measurement
    return trial_key(
        m.method,
        m.target_flops_ratio,
        m.backend,
        m.variant,
        m.device,
        m.dtype,
        m.batch_size,
        m.seq_len,
    )


def dense_key_of(trial_key_text: str) -> str:
    """The key of the dense trial a trial's speedup is measured against (same runtime/shape)."""
    _, _, rest = trial_key_text.partition("|")
    return f"{point_key(DENSE_METHOD, 1.0)}|{rest}"
