"""The header of a study report: one row per setup (a run's rows on one device) with what a
reader needs to judge it: device, driver, CUDA/cuDNN, torch/ORT versions, clock and power
policy, MIG, threads, date, commit and the machine's load when the run started.

Formats fingerprints into text cells only; never reads files.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from harness.report.study import Setup, Study
from harness.report.table import MISSING

log = logging.getLogger(__name__)


def _text(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return MISSING
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value)


def _gpu(setup: Setup) -> Mapping[str, Any]:
    gpus = setup.environment.get("gpus") or []
    return gpus[0] if setup.device == "cuda" and gpus else {}


def _device(setup: Setup) -> str:
    identity = setup.fingerprint.identity
    return f"{setup.device}: {setup.fingerprint.name} ({identity})"


def _policy(setup: Setup) -> str:
    """Clock and power policy: GPU application clocks and power limits; CPU governor, quota."""
    if setup.device == "cuda":
        gpu = _gpu(setup)
        sm, mem = gpu.get("applications_clock_sm_mhz"), gpu.get("applications_clock_mem_mhz")
        clocks = f"{_text(sm)}/{_text(mem)}"
        power = (
            f"{_text(gpu.get('power_enforced_limit_w'))}/{_text(gpu.get('power_default_limit_w'))}"
        )
        return (
            f"app clocks sm/mem {clocks} MHz; power enforced/default {power} W; "
            f"persistence {_text(gpu.get('persistence_mode'))}"
        )
    policy = setup.environment.get("cpu_policy")
    if not policy:
        return "(not recorded)"
    quota = (policy.get("cgroup_cpu_quota") or {}).get("cores")
    cores = "none" if quota is None else f"{quota} cores"
    smt = _text((policy.get("smt") or {}).get("active"))
    return f"governor {_text(policy.get('governors'))}; cgroup quota {cores}; SMT {smt}"


def _mig(setup: Setup) -> str:
    if setup.device != "cuda":
        return "n/a"
    gpu = _gpu(setup)
    if gpu.get("mig_mode") is None:
        return "(not recorded)"
    slices = [s.get("uuid") for s in gpu.get("mig_devices") or []]
    return f"on: {_text(slices)}" if gpu["mig_mode"] else "off"


def _threads(setup: Setup) -> str:
    env = setup.environment
    timed = _text(setup.fingerprint.stack.get("threads"))
    extra = _text((env.get("cpu_policy") or {}).get("thread_environment"))
    affinity = (env.get("cpu_policy") or {}).get("affinity")
    cpus = f"; {len(affinity)} CPUs allowed" if affinity else ""
    return f"timed {timed}; torch default {_text(env.get('torch_threads'))}; env {extra}{cpus}"


def _row(setup: Setup) -> dict[str, str]:
    env, gpu = setup.environment, _gpu(setup)
    versions = env.get("versions") or {}
    cuda = f"{_text(env.get('torch_cuda_build'))} (driver {_text(gpu.get('cuda_driver_version'))})"
    commit = setup.fingerprint.stack.get("code")
    return {
        "setup": setup.label,
        "run file": setup.path.name,
        "config": _text(setup.run.config.get("name")),
        "date (UTC)": _text(setup.run.created_utc),
        "commit": _text(commit),
        "device": _device(setup),
        "driver": _text(gpu.get("driver_version")),
        "CUDA / cuDNN": f"{cuda} / {_text(env.get('cudnn_version'))}",
        "torch / ORT": f"{_text(versions.get('torch'))} / {_text(versions.get('onnxruntime'))}",
        "clock & power policy": _policy(setup),
        "MIG": _mig(setup),
        "threads": _threads(setup),
        "load at start": _text(env.get("load_average")),
        "GPU facts from": _text(env.get("gpu_source")) if setup.device == "cuda" else "n/a",
    }


def header_table(study: Study) -> pd.DataFrame:
    """One row per setup, in study order."""
    return pd.DataFrame([_row(setup) for setup in study.setups])
