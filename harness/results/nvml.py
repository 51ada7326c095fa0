"""GPU fingerprint through NVML (`nvidia-ml-py`, imported lazily): identity (UUID, VBIOS, PCI bus),
policy (persistence and compute mode, MIG mode and slices, application clocks, default and
enforced power limit, ECC) and state (clocks, PCIe link, temperature, power draw, throttle and
clock-event reasons).

Read-only: only NVML's query functions are called, never a setter. `collect_gpus_nvml` is None
when NVML is absent (no package, library or driver): the caller then falls back to nvidia-smi and
records which source it used. A field a GPU does not support is None.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from harness.results.gpu_info import decode_throttle_reasons

log = logging.getLogger(__name__)

SOURCE = "nvml"
COMPUTE_MODES = {0: "default", 1: "exclusive_thread", 2: "prohibited", 3: "exclusive_process"}
MIB = 1024 * 1024


def load_nvml() -> Any | None:
    """The `pynvml` module of nvidia-ml-py, or None when it is not installed."""
    try:
        import pynvml
    except ImportError:
        log.debug("nvidia-ml-py is not installed: GPU facts come from nvidia-smi")
        return None
    return pynvml


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _query(nvml: Any, function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)`, or None for a fact this GPU or driver does not report (NVML error)."""
    try:
        return _text(function(*args))
    except nvml.NVMLError as problem:
        log.debug("NVML %s: %s", getattr(function, "__name__", function), problem)
        return None


def _scaled(value: Any, divisor: float) -> Any:
    return None if value is None else round(value / divisor, 3)


def _pair(value: Any) -> tuple[Any, Any]:
    """(current, pending) of NVML's mode pairs (MIG, ECC); (None, None) when unsupported."""
    return (None, None) if value is None else (value[0], value[1])


def _identity(nvml: Any, handle: Any, index: int) -> dict[str, Any]:
    pci = _query(nvml, nvml.nvmlDeviceGetPciInfo, handle)
    memory = _query(nvml, nvml.nvmlDeviceGetMemoryInfo, handle)
    return {
        "index": index,
        "name": _query(nvml, nvml.nvmlDeviceGetName, handle),
        "uuid": _query(nvml, nvml.nvmlDeviceGetUUID, handle),
        "vbios_version": _query(nvml, nvml.nvmlDeviceGetVbiosVersion, handle),
        "pci_bus_id": None if pci is None else _text(pci.busId),
        "memory_total_mib": None if memory is None else int(memory.total // MIB),
    }


def _mig_slices(nvml: Any, handle: Any) -> list[dict[str, Any]]:
    """The MIG devices (slices) of a GPU in MIG mode: UUID, GPU instance and memory."""
    slices = []
    for position in range(_query(nvml, nvml.nvmlDeviceGetMaxMigDeviceCount, handle) or 0):
        mig = _query(nvml, nvml.nvmlDeviceGetMigDeviceHandleByIndex, handle, position)
        if mig is None:
            continue  # an empty slot
        memory = _query(nvml, nvml.nvmlDeviceGetMemoryInfo, mig)
        slices.append(
            {
                "uuid": _query(nvml, nvml.nvmlDeviceGetUUID, mig),
                "gpu_instance_id": _query(nvml, nvml.nvmlDeviceGetGpuInstanceId, mig),
                "memory_total_mib": None if memory is None else int(memory.total // MIB),
            }
        )
    return slices


def _policy(nvml: Any, handle: Any) -> dict[str, Any]:
    """What an administrator sets and a comparison must match: modes, clocks, power, ECC."""
    mig, mig_pending = _pair(_query(nvml, nvml.nvmlDeviceGetMigMode, handle))
    ecc, ecc_pending = _pair(_query(nvml, nvml.nvmlDeviceGetEccMode, handle))
    compute = _query(nvml, nvml.nvmlDeviceGetComputeMode, handle)
    persistence = _query(nvml, nvml.nvmlDeviceGetPersistenceMode, handle)
    app_clock, default_clock = (
        nvml.nvmlDeviceGetApplicationsClock,
        nvml.nvmlDeviceGetDefaultApplicationsClock,
    )
    power = nvml.nvmlDeviceGetPowerManagementDefaultLimit
    return {
        "persistence_mode": None if persistence is None else bool(persistence),
        "compute_mode": COMPUTE_MODES.get(compute, compute),
        "mig_mode": None if mig is None else bool(mig),
        "mig_mode_pending": None if mig_pending is None else bool(mig_pending),
        "mig_devices": _mig_slices(nvml, handle) if mig else [],
        "applications_clock_sm_mhz": _query(nvml, app_clock, handle, nvml.NVML_CLOCK_GRAPHICS),
        "applications_clock_mem_mhz": _query(nvml, app_clock, handle, nvml.NVML_CLOCK_MEM),
        "default_applications_clock_sm_mhz": _query(
            nvml, default_clock, handle, nvml.NVML_CLOCK_GRAPHICS
        ),
        "default_applications_clock_mem_mhz": _query(
            nvml, default_clock, handle, nvml.NVML_CLOCK_MEM
        ),
        "power_limit_w": _scaled(_query(nvml, nvml.nvmlDeviceGetPowerManagementLimit, handle), 1e3),
        "power_default_limit_w": _scaled(_query(nvml, power, handle), 1e3),
        "power_enforced_limit_w": _scaled(
            _query(nvml, nvml.nvmlDeviceGetEnforcedPowerLimit, handle), 1e3
        ),
        "ecc_mode": None if ecc is None else bool(ecc),
        "ecc_mode_pending": None if ecc_pending is None else bool(ecc_pending),
    }


def _reasons(nvml: Any, handle: Any) -> int | None:
    """The active clock-event (formerly "throttle") reasons bit mask."""
    function = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
    if function is None:  # nvidia-ml-py before the rename
        function = nvml.nvmlDeviceGetCurrentClocksThrottleReasons
    value = _query(nvml, function, handle)
    return None if value is None else int(value)


def _state(nvml: Any, handle: Any) -> dict[str, Any]:
    """What changes while a GPU works: clocks, link, temperature, power, clock-event reasons."""
    clock, top = nvml.nvmlDeviceGetClockInfo, nvml.nvmlDeviceGetMaxClockInfo
    pstate = _query(nvml, nvml.nvmlDeviceGetPerformanceState, handle)
    mask = _reasons(nvml, handle)
    hex_mask = None if mask is None else f"0x{mask:016x}"
    return {
        "clock_sm_mhz": _query(nvml, clock, handle, nvml.NVML_CLOCK_SM),
        "clock_mem_mhz": _query(nvml, clock, handle, nvml.NVML_CLOCK_MEM),
        "clock_sm_max_mhz": _query(nvml, top, handle, nvml.NVML_CLOCK_SM),
        "clock_mem_max_mhz": _query(nvml, top, handle, nvml.NVML_CLOCK_MEM),
        "pcie_gen": _query(nvml, nvml.nvmlDeviceGetCurrPcieLinkGeneration, handle),
        "pcie_width": _query(nvml, nvml.nvmlDeviceGetCurrPcieLinkWidth, handle),
        "pcie_max_gen": _query(nvml, nvml.nvmlDeviceGetMaxPcieLinkGeneration, handle),
        "pcie_max_width": _query(nvml, nvml.nvmlDeviceGetMaxPcieLinkWidth, handle),
        "temperature_c": _query(
            nvml, nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU
        ),
        "power_draw_w": _scaled(_query(nvml, nvml.nvmlDeviceGetPowerUsage, handle), 1e3),
        "pstate": None if pstate is None else f"P{pstate}",
        "throttle_reasons_mask": hex_mask,
        "throttle_reasons": decode_throttle_reasons(hex_mask),
    }


def _cuda_version(value: int | None) -> str | None:
    """NVML's 12040 -> "12.4" (the driver's CUDA version, as nvidia-smi prints it)."""
    return None if value is None else f"{value // 1000}.{value % 1000 // 10}"


def _devices(nvml: Any) -> list[dict[str, Any]]:
    system = {
        "driver_version": _query(nvml, nvml.nvmlSystemGetDriverVersion),
        "cuda_driver_version": _cuda_version(_query(nvml, nvml.nvmlSystemGetCudaDriverVersion_v2)),
    }
    gpus = []
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        facts = _identity(nvml, handle, index)
        gpus.append({**facts, **system, **_policy(nvml, handle), **_state(nvml, handle)})
    return gpus


def collect_gpus_nvml(nvml: Any | None = None) -> list[dict[str, Any]] | None:
    """One dict per GPU from NVML (`nvml`: the pynvml module or a stand-in; default: import
    it); None when NVML cannot start here (not installed, no library or no driver)."""
    nvml = nvml if nvml is not None else load_nvml()
    if nvml is None:
        return None
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as problem:
        log.debug("NVML unavailable (%s): GPU facts come from nvidia-smi", problem)
        return None
    try:
        return _devices(nvml)
    finally:
        nvml.nvmlShutdown()
