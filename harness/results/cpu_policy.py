"""The CPU side of the fingerprint: what limits or shapes CPU time besides the CPU model: the
cgroup CPU quota, frequency governors, SMT, this process's affinity and the thread settings in
its environment.

Read-only: reads /proc, /sys and the environment, never writes them. A fact this machine does
not expose is None.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "KMP_AFFINITY",
    "OMP_PROC_BIND",
    "CUDA_VISIBLE_DEVICES",
)
"""Environment variables that change how many threads (or which GPU) a timed call uses."""


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _cgroup_v2_quota(root: Path) -> float | None:
    """Cores the unified hierarchy grants (`cpu.max` = "<quota> <period>", "max" = none)."""
    own = "/"
    for line in (_read(root / "proc/self/cgroup") or "").splitlines():
        if line.startswith("0::"):
            own = line[3:] or "/"
    for folder in (root / "sys/fs/cgroup" / own.lstrip("/"), root / "sys/fs/cgroup"):
        text = _read(folder / "cpu.max")
        if text:
            quota, _, period = text.partition(" ")
            return None if quota == "max" else round(int(quota) / int(period), 3)
    return None


def _cgroup_v1_quota(root: Path) -> float | None:
    """Cores cgroup v1 grants (`cpu.cfs_quota_us` / `cpu.cfs_period_us`; -1 = no quota)."""
    folder = root / "sys/fs/cgroup/cpu"
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    if quota is None or period is None or int(quota) < 0:
        return None
    return round(int(quota) / int(period), 3)


def cgroup_cpu_quota(root: Path = Path("/")) -> dict[str, Any]:
    """{"cores": granted cores or None (no quota), "source": "cgroup2" | "cgroup1" | None}."""
    if (root / "sys/fs/cgroup/cgroup.controllers").exists():
        return {"cores": _cgroup_v2_quota(root), "source": "cgroup2"}
    if (root / "sys/fs/cgroup/cpu").exists():
        return {"cores": _cgroup_v1_quota(root), "source": "cgroup1"}
    return {"cores": None, "source": None}


def governors(root: Path = Path("/")) -> list[str] | None:
    """The distinct `scaling_governor`s of the CPUs (None: no cpufreq, e.g. in most VMs)."""
    found = {
        text
        for path in sorted((root / "sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq"))
        if (text := _read(path / "scaling_governor"))
    }
    return sorted(found) or None


def smt(root: Path = Path("/")) -> dict[str, Any]:
    """SMT (hyper-threading): active or not, and the kernel's control setting."""
    active = _read(root / "sys/devices/system/cpu/smt/active")
    return {
        "active": None if active is None else active == "1",
        "control": _read(root / "sys/devices/system/cpu/smt/control"),
    }


def affinity() -> list[int] | None:
    """The CPUs this process may run on (None where the OS does not say)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def cpu_policy(root: Path = Path("/"), environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The CPU facts that decide whether two CPU timings compare (JSON-ready)."""
    environ = os.environ if environ is None else environ
    return {
        "cgroup_cpu_quota": cgroup_cpu_quota(root),
        "governors": governors(root),
        "smt": smt(root),
        "affinity": affinity(),
        "thread_environment": {name: environ[name] for name in THREAD_VARIABLES if name in environ},
    }
