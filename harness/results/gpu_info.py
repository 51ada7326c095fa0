"""NVIDIA GPU state via `nvidia-smi --query-gpu` (read-only): name, driver, CUDA, clocks, power,
temperature and decoded throttle reasons. Never changes any GPU setting.

No nvidia-smi (or a failing one) gives an empty list; unsupported fields are None.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

Runner = Callable[[Sequence[str]], str | None]

# (nvidia-smi field, our key, numeric)
QUERY_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("index", "index", True),
    ("name", "name", False),
    ("driver_version", "driver_version", False),
    ("pci.bus_id", "pci_bus_id", False),
    ("memory.total", "memory_total_mib", True),
    ("clocks.sm", "clock_sm_mhz", True),
    ("clocks.mem", "clock_mem_mhz", True),
    ("clocks.max.sm", "clock_sm_max_mhz", True),
    ("clocks.max.mem", "clock_mem_max_mhz", True),
    ("power.limit", "power_limit_w", True),
    ("power.draw", "power_draw_w", True),
    ("temperature.gpu", "temperature_c", True),
    ("pstate", "pstate", False),
    ("clocks_event_reasons.active", "throttle_reasons_mask", False),
)
# Older drivers only know the pre-rename name of the throttle field.
_LEGACY_FIELDS = {"clocks_event_reasons.active": "clocks_throttle_reasons.active"}
THROTTLE_BITS = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}
_MISSING = {"", "N/A", "[N/A]", "[Not Supported]", "Not Supported", "[Unknown Error]"}


def run_nvidia_smi(args: Sequence[str]) -> str | None:
    """stdout of ``nvidia-smi args`` or None when it is absent or fails."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as problem:
        log.warning("nvidia-smi %s failed: %s", " ".join(args), problem)
        return None
    return done.stdout if done.returncode == 0 else None


def decode_throttle_reasons(mask: str | None) -> list[str] | None:
    """Names of the active reasons in a hex mask such as ``0x0000000000000004``."""
    if mask is None:
        return None
    value = int(mask, 16)
    return [name for bit, name in THROTTLE_BITS.items() if value & bit]


def _convert(text: str, numeric: bool) -> Any:
    text = text.strip()
    if text in _MISSING:
        return None
    if not numeric:
        return text
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def parse_query_csv(
    text: str, fields: Sequence[tuple[str, str, bool]] = QUERY_FIELDS
) -> list[dict[str, Any]]:
    """Rows of ``--format=csv,noheader,nounits`` output as dicts keyed by our field names."""
    gpus = []
    for line in text.strip().splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(fields):
            raise ValueError(
                f"nvidia-smi row has {len(cells)} cells, expected {len(fields)}: {line!r}"
            )
        gpu = {key: _convert(cell, numeric) for (_, key, numeric), cell in zip(fields, cells)}
        gpu["throttle_reasons"] = decode_throttle_reasons(gpu["throttle_reasons_mask"])
        gpus.append(gpu)
    return gpus


def parse_cuda_version(banner: str | None) -> str | None:
    """The driver's CUDA version from the plain ``nvidia-smi`` banner ("CUDA Version: 13.0")."""
    match = re.search(r"CUDA Version:\s*([0-9.]+)", banner or "")
    return match.group(1) if match else None


def collect_gpus(run: Runner = run_nvidia_smi) -> list[dict[str, Any]]:
    """One dict per GPU (empty when there is no nvidia-smi)."""
    names = [field for field, _, _ in QUERY_FIELDS]
    text = run([f"--query-gpu={','.join(names)}", "--format=csv,noheader,nounits"])
    if text is None:
        legacy = [_LEGACY_FIELDS.get(name, name) for name in names]
        text = run([f"--query-gpu={','.join(legacy)}", "--format=csv,noheader,nounits"])
    if text is None:
        return []
    cuda = parse_cuda_version(run([]))
    return [{**gpu, "cuda_driver_version": cuda} for gpu in parse_query_csv(text)]
