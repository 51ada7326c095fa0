"""A stand-in for the `pynvml` module: the query functions `harness.results.nvml` calls, answering
from a fixed H100-like GPU; `setters_called` lists any setter used (there must be none)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):  # noqa: N801 (pynvml's spelling)
    pass


class NVMLError_LibraryNotFound(NVMLError):  # noqa: N801
    pass


class FakeNvml:
    """`unsupported`: names of query functions that raise NotSupported; `mig`: MIG mode on with
    one slice; `missing_library`: nvmlInit fails as on a machine without the driver."""

    NVMLError = NVMLError
    NVML_CLOCK_GRAPHICS, NVML_CLOCK_SM, NVML_CLOCK_MEM = 0, 1, 2
    NVML_TEMPERATURE_GPU = 0

    def __init__(
        self, unsupported: tuple[str, ...] = (), mig: bool = False, missing_library: bool = False
    ) -> None:
        self.unsupported, self.mig, self.missing_library = set(unsupported), mig, missing_library
        self.calls: list[str] = []
        self.setters_called: list[str] = []
        self.open = False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("nvmlDeviceSet") or name.startswith("nvmlSet"):
            self.setters_called.append(name)
        raise AttributeError(name)

    def _answer(self, name: str, value: Any) -> Any:
        self.calls.append(name)
        if name in self.unsupported:
            raise NVMLError_NotSupported(name)
        return value

    def nvmlInit(self) -> None:
        if self.missing_library:
            raise NVMLError_LibraryNotFound("NVML Shared Library Not Found")
        self.open = True

    def nvmlShutdown(self) -> None:
        self.open = False

    def nvmlSystemGetDriverVersion(self) -> bytes:
        return self._answer("nvmlSystemGetDriverVersion", b"570.86.15")

    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        return self._answer("nvmlSystemGetCudaDriverVersion_v2", 12080)

    def nvmlDeviceGetCount(self) -> int:
        return 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"gpu{index}"

    def nvmlDeviceGetName(self, handle: str) -> str:
        return self._answer("nvmlDeviceGetName", "NVIDIA H100 80GB HBM3")

    def nvmlDeviceGetUUID(self, handle: str) -> str:
        uuid = "MIG-1111" if handle.startswith("mig") else "GPU-abcd-0001"
        return self._answer("nvmlDeviceGetUUID", uuid)

    def nvmlDeviceGetVbiosVersion(self, handle: str) -> str:
        return self._answer("nvmlDeviceGetVbiosVersion", "96.00.99.00.01")

    def nvmlDeviceGetPciInfo(self, handle: str) -> Any:
        return self._answer("nvmlDeviceGetPciInfo", SimpleNamespace(busId=b"00000000:19:00.0"))

    def nvmlDeviceGetMemoryInfo(self, handle: str) -> Any:
        total = 20 * 1024**3 if handle.startswith("mig") else 80 * 1024**3
        return self._answer("nvmlDeviceGetMemoryInfo", SimpleNamespace(total=total))

    def nvmlDeviceGetPersistenceMode(self, handle: str) -> int:
        return self._answer("nvmlDeviceGetPersistenceMode", 1)

    def nvmlDeviceGetComputeMode(self, handle: str) -> int:
        return self._answer("nvmlDeviceGetComputeMode", 3)

    def nvmlDeviceGetMigMode(self, handle: str) -> list[int]:
        return self._answer("nvmlDeviceGetMigMode", [int(self.mig), int(self.mig)])

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: str) -> int:
        return self._answer("nvmlDeviceGetMaxMigDeviceCount", 2)

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: str, index: int) -> str:
        if index > 0:
            raise NVMLError("not found")  # an empty slot
        return self._answer("nvmlDeviceGetMigDeviceHandleByIndex", f"mig{index}")

    def nvmlDeviceGetGpuInstanceId(self, handle: str) -> int:
        return self._answer("nvmlDeviceGetGpuInstanceId", 7)

    def nvmlDeviceGetApplicationsClock(self, handle: str, kind: int) -> int:
        return self._answer("nvmlDeviceGetApplicationsClock", 1755 if kind == 0 else 2619)

    def nvmlDeviceGetDefaultApplicationsClock(self, handle: str, kind: int) -> int:
        return self._answer("nvmlDeviceGetDefaultApplicationsClock", 1980 if kind == 0 else 2619)

    def nvmlDeviceGetPowerManagementLimit(self, handle: str) -> int:
        return self._answer("nvmlDeviceGetPowerManagementLimit", 500000)

    def nvmlDeviceGetPowerManagementDefaultLimit(self, handle: str) -> int:
        return self._answer("nvmlDeviceGetPowerManagementDefaultLimit", 700000)

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: str) -> int:
        return self._answer("nvmlDeviceGetEnforcedPowerLimit", 500000)

    def nvmlDeviceGetEccMode(self, handle: str) -> list[int]:
        return self._answer("nvmlDeviceGetEccMode", [1, 1])

    def nvmlDeviceGetClockInfo(self, handle: str, kind: int) -> int:
        return self._answer("nvmlDeviceGetClockInfo", 1755 if kind == 1 else 2619)

    def nvmlDeviceGetMaxClockInfo(self, handle: str, kind: int) -> int:
        return self._answer("nvmlDeviceGetMaxClockInfo", 1980 if kind == 1 else 2619)

    def nvmlDeviceGetCurrPcieLinkGeneration(self, handle: str) -> int:
        return self._answer("nvmlDeviceGetCurrPcieLinkGeneration", 5)

    def nvmlDeviceGetCurrPcieLinkWidth(self, handle: str) -> int:
        return self._answer("nvmlDeviceGetCurrPcieLinkWidth", 16)

    def nvmlDeviceGetMaxPcieLinkGeneration(self, handle: str) -> int:
        return self._answer("nvmlDeviceGetMaxPcieLinkGeneration", 5)

    def nvmlDeviceGetMaxPcieLinkWidth(self, handle: str) -> int:
        return self._answer("nvmlDeviceGetMaxPcieLinkWidth", 16)

    def nvmlDeviceGetTemperature(self, handle: str, sensor: int) -> int:
        return self._answer("nvmlDeviceGetTemperature", 41)

    def nvmlDeviceGetPowerUsage(self, handle: str) -> int:
        return self._answer("nvmlDeviceGetPowerUsage", 71430)

    def nvmlDeviceGetPerformanceState(self, handle: str) -> int:
        return self._answer("nvmlDeviceGetPerformanceState", 0)

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: str) -> int:
        return self._answer("nvmlDeviceGetCurrentClocksEventReasons", 0x4 | 0x2)
