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


SEED_MARK = "~seed"
"""Between a point's ratio and its seed in keys of seeds other than 0 (`kprune@0.5~seed2`)."""


def point_key(method: str, target_flops_ratio: float, seed: int = 0) -> str:
    """`kprune@0.5`; `kprune@0.5~seed2` for a sweep's seed 2 (seed 0 keeps the plain key, so
    single-seed results and their resumes read as before)."""
    key = f"{method}@{ratio_text(target_flops_ratio)}"
    return key if seed == 0 else f"{key}{SEED_MARK}{seed}"


def record_point_key(record: Any) -> str:
    """The point key of a stored `PrunePoint` or `Measurement` (or any object with `method`,
    `target_flops_ratio` and optionally `seed`)."""
    return point_key(record.method, record.target_flops_ratio, getattr(record, "seed", 0))


def trial_key(
    method: str,
    target_flops_ratio: float,
    backend: str,
    variant: str,
    device: str,
    dtype: str,
    batch_size: int,
    seq_len: int,
    seed: int = 0,
) -> str:
    """`kprune@0.5|torch/eager/cpu/float32|b8|s128`; threads are not part of the key."""
    runtime = f"{backend}/{variant}/{device}/{dtype}"
    return f"{point_key(method, target_flops_ratio, seed)}|{runtime}|b{batch_size}|s{seq_len}"


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
        getattr(m, "seed", 0),
    )


def seed_of(key_text: str) -> int:
    """The seed of a point or trial key (0 when it carries none)."""
    point, _, _ = key_text.partition("|")
    _, mark, seed = point.partition(SEED_MARK)
    return int(seed) if mark else 0


def dense_key_of(trial_key_text: str) -> str:
    """The key of the dense trial a trial's speedup is measured against: same runtime, shape
    and seed (each seed's dense model is its own fine-tune)."""
    _, _, rest = trial_key_text.partition("|")
    return f"{point_key(DENSE_METHOD, 1.0, seed_of(trial_key_text))}|{rest}"
