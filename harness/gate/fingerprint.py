"""The comparability guard: whether a baseline and a candidate ran on the same device class and
library stack. Differences turn a FAIL into a WARN (and are listed); a commit change never
counts (that is what the gate compares). Pure: reads two environment fingerprints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STACK = ("torch", "onnxruntime", "transformers", "onnx", "numpy")
"""Libraries whose versions change what a speedup or a metric means."""


def device_class(environment: Mapping[str, Any], device: str) -> str:
    """`cpu: <model> x<cores>` or `cuda: <gpu names>` (what a speedup on `device` depends on)."""
    if device == "cuda":
        names = sorted(str(g.get("name")) for g in environment.get("gpus") or [])
        return f"cuda: {', '.join(names) or 'no GPU recorded'}"
    return f"cpu: {environment.get('cpu_model')} x{environment.get('logical_cores')}"


def library_stack(environment: Mapping[str, Any]) -> dict[str, Any]:
    versions = environment.get("versions") or {}
    return {name: versions.get(name) for name in STACK}


def differences(
    baseline: Mapping[str, Any], candidate: Mapping[str, Any], device: str
) -> list[str]:
    """What makes the two runs incomparable on `device` (empty: comparable)."""
    found = []
    base_class, cand_class = device_class(baseline, device), device_class(candidate, device)
    if base_class != cand_class:
        found.append(f"device class {base_class!r} vs {cand_class!r}")
    base_stack, cand_stack = library_stack(baseline), library_stack(candidate)
    for name in STACK:
        if base_stack[name] != cand_stack[name]:
            found.append(f"{name} {base_stack[name]} vs {cand_stack[name]}")
    return found
