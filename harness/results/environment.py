"""Fingerprint of the machine, libraries and code a run was measured on.

Read-only: queries git (no index refresh) on the harness code's own folder, /proc, /sys, torch
and NVML (`nvidia-smi --query-gpu` only where NVML is absent; `gpu_source` says which); never
changes clocks, power limits, thread counts or any other setting. Missing facts are None.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import Any

from harness.results.cpu_policy import cpu_policy
from harness.results.gpu_info import collect_gpus
from harness.results.nvml import SOURCE as NVML_SOURCE
from harness.results.nvml import collect_gpus_nvml

log = logging.getLogger(__name__)

ENVIRONMENT_VERSION = 2
"""2: `commit`/`dirty`/`branch` are the harness code's own checkout (1: the working directory's)."""
_PACKAGES = ("torch", "transformers", "onnx", "onnxruntime", "numpy", "pandas")
# onnxruntime ships as onnxruntime or onnxruntime-gpu; both import as `onnxruntime`.
_DISTRIBUTIONS = {"onnxruntime": ("onnxruntime-gpu", "onnxruntime")}


def _git(args: list[str], cwd: Path) -> str | None:
    # --no-optional-locks: never take index.lock / refresh the index (read-only query).
    command = ["git", "--no-optional-locks", *args]
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as problem:
        log.debug("git %s failed: %s", args, problem)
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_info(cwd: Path | None = None) -> dict[str, Any]:
    """commit (None without commits), dirty (tracked changes only) and branch of ``cwd``."""
    where = cwd or Path.cwd()
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    return {
        "commit": _git(["rev-parse", "HEAD"], where),
        "dirty": None if status is None else bool(status),
        "branch": _git(["rev-parse", "--abbrev-ref", "HEAD"], where),
    }


CODE_DIR = Path(__file__).resolve().parents[1]
"""The `harness` package folder this code runs from (a checkout or an installed copy)."""
DISTRIBUTION = "kprune-bench"


def code_provenance(code_dir: Path = CODE_DIR) -> dict[str, Any]:
    """Commit, dirty flag and branch of the checkout the harness code itself runs from, never
    the working directory's. An installed copy (the package is not tracked by any git work
    tree) has no commit: it is identified by `code_version`, the installed version."""
    # ls-files: the package must be tracked here, not merely lie inside some other repository
    tracked = _git(["ls-files", "--error-unmatch", "__init__.py"], code_dir) is not None
    facts = git_info(code_dir) if tracked else {"commit": None, "dirty": None, "branch": None}
    return {
        **facts,
        "code_source": "checkout" if tracked else "installed",
        "code_path": str(code_dir),
        "code_version": _distribution_version(),
    }


def _distribution_version() -> str | None:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


def cwd_provenance(cwd: Path | None = None) -> dict[str, Any]:
    """The working directory's repository, labelled as such (it may hold other code)."""
    facts = git_info(cwd)
    return {"cwd_commit": facts["commit"], "cwd_dirty": facts["dirty"]}


def _version(package: str) -> str | None:
    for dist in _DISTRIBUTIONS.get(package, (package,)):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def cpu_model() -> str | None:
    """CPU model name from /proc/cpuinfo, else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _total_memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _torch_facts() -> dict[str, Any]:
    import torch

    cuda = torch.cuda.is_available()
    return {
        "torch_threads": torch.get_num_threads(),
        "torch_cuda_build": torch.version.cuda,
        "cuda_available": cuda,
        "cudnn_version": torch.backends.cudnn.version() if cuda else None,  # type: ignore[no-untyped-call]
    }


def _ort_providers() -> list[str] | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    return list(onnxruntime.get_available_providers())


def _ort_build() -> str | None:
    """ONNX Runtime's build description (git commit, CUDA/cuDNN it was built against)."""
    try:
        import onnxruntime
    except ImportError:
        return None
    return str(onnxruntime.get_build_info())


def gpu_facts() -> tuple[list[dict[str, Any]], str | None]:
    """The GPUs from NVML, or from nvidia-smi only where NVML is absent, and which source
    answered ("nvml", "nvidia-smi"; None: neither found a GPU)."""
    gpus = collect_gpus_nvml()
    if gpus is not None:
        return gpus, NVML_SOURCE
    gpus = collect_gpus()
    return gpus, ("nvidia-smi" if gpus else None)


def collect_environment(cwd: Path | None = None) -> dict[str, Any]:
    """The run's fingerprint (JSON-ready); GPU facts are empty on a machine without NVIDIA GPUs.
    `commit`/`dirty`/`branch` are the harness code's own; `cwd_commit`/`cwd_dirty` are the
    repository of `cwd` (default: the working directory), recorded only as a label."""
    env: dict[str, Any] = {"environment_version": ENVIRONMENT_VERSION, **code_provenance()}
    env.update(cwd_provenance(cwd))
    env.update(
        python=platform.python_version(),
        versions={name: _version(name) for name in _PACKAGES},
        ort_available_providers=_ort_providers(),
        os=platform.platform(),
        cpu_model=cpu_model(),
        logical_cores=os.cpu_count(),
        load_average=_load_average(),
        total_memory_bytes=_total_memory_bytes(),
        hostname_hash=hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12],
    )
    env.update(_torch_facts())
    env.update(ort_build=_ort_build(), cpu_policy=cpu_policy())
    env["gpus"], env["gpu_source"] = gpu_facts()
    env["machine_id"] = machine_id(env)
    return env


def machine_id(env: dict[str, Any]) -> str:
    """Stable folder name for a machine: a hash of hostname hash, CPU model and GPU names."""
    gpus = ",".join(g.get("name") or "" for g in env.get("gpus") or [])
    key = f"{env.get('hostname_hash')}|{env.get('cpu_model')}|{gpus}"
    return "m-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def load_snapshot() -> dict[str, Any]:
    """Load average and GPU state now: record before and after a timing block."""
    gpus, source = gpu_facts()
    return {"load_average": _load_average(), "gpus": gpus, "gpu_source": source}
