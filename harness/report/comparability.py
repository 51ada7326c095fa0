"""Whether two timing setups compare, from their fingerprints alone: class A (same device, same
stack: absolute latency compares), B (same device, different stack: the differing fields are
listed), C (different devices: speedups and efficiency compare, absolute numbers never divide).

Pure: environment mappings in, small records out; never reads files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from harness.results.devices import device_identity

log = logging.getLogger(__name__)

ComparabilityClass = Literal["A", "B", "C"]
MEANING: dict[str, str] = {
    "A": "same device and stack: absolute latency compares",
    "B": "same device, different stack: absolute latency differs for the listed reasons",
    "C": "different devices: speedups and efficiency compare; absolute ms only side by side",
}
UNRECORDED = "(not recorded)"

Getter = Callable[[Mapping[str, Any]], Any]


def _gpu(field: str) -> Getter:
    """A field of the first GPU listed (the one CUDA device 0 maps to in our sweeps)."""
    return lambda env: ((env.get("gpus") or [{}])[0] or {}).get(field)


def _path(*keys: str) -> Getter:
    def get(env: Mapping[str, Any]) -> Any:
        value: Any = env
        for key in keys:
            value = value.get(key) if isinstance(value, Mapping) else None
        return value

    return get


def _code(env: Mapping[str, Any]) -> Any:
    commit = env.get("commit")
    if not commit:
        return env.get("code_version")
    return str(commit)[:7] + ("-dirty" if env.get("dirty") else "")


LIBRARIES: dict[str, Getter] = {
    "code": _code,
    "python": _path("python"),
    "torch": _path("versions", "torch"),
    "onnxruntime": _path("versions", "onnxruntime"),
    "transformers": _path("versions", "transformers"),
    "onnx": _path("versions", "onnx"),
    "numpy": _path("versions", "numpy"),
    "os": _path("os"),
    "thread environment": _path("cpu_policy", "thread_environment"),
}
CPU_POLICY: dict[str, Getter] = {
    "cgroup CPU quota": _path("cpu_policy", "cgroup_cpu_quota", "cores"),
    "governors": _path("cpu_policy", "governors"),
    "SMT": _path("cpu_policy", "smt", "active"),
    "affinity": _path("cpu_policy", "affinity"),
}
GPU_POLICY: dict[str, Getter] = {
    "driver": _gpu("driver_version"),
    "CUDA (driver)": _gpu("cuda_driver_version"),
    "CUDA (torch build)": _path("torch_cuda_build"),
    "cuDNN": _path("cudnn_version"),
    "application clocks (MHz)": lambda env: _pair(
        _gpu("applications_clock_sm_mhz")(env), _gpu("applications_clock_mem_mhz")(env)
    ),
    "power limit enforced (W)": _gpu("power_enforced_limit_w"),
    "persistence mode": _gpu("persistence_mode"),
    "compute mode": _gpu("compute_mode"),
    "MIG": lambda env: _pair(_gpu("mig_mode")(env), _gpu("mig_devices")(env)),
    "ECC": _gpu("ecc_mode"),
    "PCIe": lambda env: _pair(_gpu("pcie_gen")(env), _gpu("pcie_width")(env)),
}
"""The fields that make absolute latency differ on one device, by the device they concern."""


def _pair(first: Any, second: Any) -> Any:
    return None if first is None and second is None else f"{first}/{second}"


@dataclass(frozen=True)
class Fingerprint:
    """What decides comparability of one timing setup (a run's rows on one device)."""

    device: str  # "cpu", "cuda"
    identity: str  # the device's identity: a GPU's UUID, a machine id
    name: str  # what the device is, for people: a CPU model, a GPU name
    stack: Mapping[str, Any]  # field -> value; None: not recorded


@dataclass(frozen=True)
class Comparison:
    """The class of a pair of setups and why."""

    comparability: ComparabilityClass
    differing: tuple[tuple[str, str, str], ...]  # (field, value in first, value in second)
    reason: str


def _shown(value: Any) -> str:
    if value is None:
        return UNRECORDED
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) or "-"
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items())) or "-"
    return str(value)


def fingerprint_of(
    environment: Mapping[str, Any], device: str, threads: Iterable[int | None]
) -> Fingerprint:
    """The fingerprint of rows timed on `device` by a process with `environment`, using the
    given runtime thread counts."""
    fields = {**LIBRARIES, **(GPU_POLICY if device == "cuda" else CPU_POLICY)}
    stack = {name: get(environment) for name, get in fields.items()}
    stack["threads"] = sorted({t for t in threads if t is not None}) or None
    name = _gpu("name")(environment) if device == "cuda" else environment.get("cpu_model")
    return Fingerprint(device, device_identity(environment, device), str(name or device), stack)


def classify(first: Fingerprint, second: Fingerprint) -> Comparison:
    """A, B or C for two setups (see the module docstring)."""
    if (first.device, first.identity) != (second.device, second.identity):
        reason = (
            f"different devices: {first.device} {first.name} ({first.identity}) vs "
            f"{second.device} {second.name} ({second.identity})"
        )
        return Comparison("C", (), reason)
    names = sorted(set(first.stack) | set(second.stack))
    differing = tuple(
        (name, _shown(first.stack.get(name)), _shown(second.stack.get(name)))
        for name in names
        if _shown(first.stack.get(name)) != _shown(second.stack.get(name))
    )
    unknown = [n for n in names if first.stack.get(n) is None and second.stack.get(n) is None]
    caveat = f"; not recorded by either: {', '.join(unknown)}" if unknown else ""
    if differing:
        listed = ", ".join(f"{n} ({a} vs {b})" for n, a, b in differing)
        return Comparison("B", differing, f"same device, stack differs: {listed}{caveat}")
    return Comparison("A", (), f"same device and every recorded stack field equal{caveat}")
