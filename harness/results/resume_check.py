"""Which config changes `--resume` accepts: sweep axes may add or drop trials, anything that
changes how a trial is measured (timing, model, task, threads of a runtime, ...) may not.

Plain data in (the stored and the current resolved config), dotted setting names out; pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SWEEP_AXES = frozenset({"methods", "flops_ratios", "batch_sizes", "seq_lens", "seeds"})
"""Config keys a resumed sweep may change freely: they add or drop trials, never alter one."""

NOT_MEASURED = frozenset({"description", "gate"})
"""Config keys no sweep measurement depends on (`gate` configures `kprune-bench gate` only)."""

RUNTIMES = "runtimes"
"""Runtimes may be added or dropped; a runtime in both runs must keep every setting (threads)."""

_MISSING = object()


def _show(value: Any) -> str:
    return "unset" if value is _MISSING else repr(value)


def _differences(stored: Any, current: Any, where: str) -> list[str]:
    """Dotted names (with old -> new values) of the leaves that differ."""
    if isinstance(stored, Mapping) and isinstance(current, Mapping):
        found: list[str] = []
        for key in sorted(set(stored) | set(current), key=str):
            inner = f"{where}.{key}" if where else str(key)
            found += _differences(stored.get(key, _MISSING), current.get(key, _MISSING), inner)
        return found
    return [] if stored == current else [f"{where} ({_show(stored)} -> {_show(current)})"]


def runtime_name(runtime: Mapping[str, Any]) -> str:
    """`torch-cpu-float32-eager` from a stored runtime table (what names its trials)."""
    parts = ("backend", "device", "dtype", "variant")
    return "-".join(str(runtime.get(part, "")) for part in parts)


def _by_name(runtimes: Any) -> dict[str, Mapping[str, Any]]:
    if not isinstance(runtimes, list | tuple):
        return {}
    return {runtime_name(r): r for r in runtimes if isinstance(r, Mapping)}


def runtime_differences(stored: Any, current: Any) -> list[str]:
    """Settings that changed in a runtime both configs run (added or dropped ones are fine)."""
    old, new = _by_name(stored), _by_name(current)
    found: list[str] = []
    for name in sorted(old.keys() & new.keys()):
        found += _differences(old[name], new[name], f"{RUNTIMES}[{name}]")
    return found


def config_differences(stored: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Every setting (dotted, with its stored and current value) that a resumed sweep may not
    change, because the rows already stored were measured with the stored value."""
    keys = (set(stored) | set(current)) - SWEEP_AXES - NOT_MEASURED - {RUNTIMES}
    found = runtime_differences(stored.get(RUNTIMES), current.get(RUNTIMES))
    for key in sorted(keys, key=str):
        found += _differences(stored.get(key, _MISSING), current.get(key, _MISSING), str(key))
    return found
