"""The identity of each device this process times on, recorded in the run's fingerprint as
`timing_devices` (a GPU's UUID as torch sees CUDA device 0; on CPU the machine id): what
`merge` and `--resume` compare so no speedup divides timings from two devices.

Read-only: asks torch, changes no setting.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch

from harness.config.schema import BenchmarkConfig

log = logging.getLogger(__name__)


def gpu_uuid() -> str | None:
    """`GPU-<uuid>` of CUDA device 0 of this process (after `CUDA_VISIBLE_DEVICES`), as
    nvidia-smi writes it; None without CUDA."""
    if not torch.cuda.is_available():
        return None
    return f"GPU-{torch.cuda.get_device_properties(0).uuid}"


def timing_devices(config: BenchmarkConfig, environment: Mapping[str, Any]) -> dict[str, Any]:
    """{device: identity} for the devices the config's runtimes time on (None: not present
    here; the runtime then fails with its own message)."""
    devices = sorted({runtime.device for runtime in config.runtimes})
    found = {"cpu": lambda: environment.get("machine_id"), "cuda": gpu_uuid}
    return {device: found[device]() for device in devices}
