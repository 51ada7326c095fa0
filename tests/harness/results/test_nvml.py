"""The NVML fingerprint on a fake NVML module (and on a real GPU when one is present), the
nvidia-smi fallback only where NVML is absent, and the CPU policy facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.results import environment
from harness.results.cpu_policy import cgroup_cpu_quota, cpu_policy, governors, smt
from harness.results.nvml import collect_gpus_nvml, load_nvml
from tests.harness.results.fake_nvml import FakeNvml


def test_fake_gpu_fingerprint_has_every_field_and_sets_nothing():
    nvml = FakeNvml()
    (gpu,) = collect_gpus_nvml(nvml)
    assert gpu["uuid"] == "GPU-abcd-0001"
    assert gpu["vbios_version"] == "96.00.99.00.01"
    assert gpu["pci_bus_id"] == "00000000:19:00.0"  # bytes from older pynvml decoded
    assert gpu["driver_version"] == "570.86.15" and gpu["cuda_driver_version"] == "12.8"
    assert gpu["persistence_mode"] is True and gpu["compute_mode"] == "exclusive_process"
    assert gpu["mig_mode"] is False and gpu["mig_devices"] == []
    assert (gpu["applications_clock_sm_mhz"], gpu["applications_clock_mem_mhz"]) == (1755, 2619)
    assert gpu["default_applications_clock_sm_mhz"] == 1980
    assert (gpu["power_default_limit_w"], gpu["power_enforced_limit_w"]) == (700.0, 500.0)
    assert gpu["ecc_mode"] is True
    assert (gpu["pcie_gen"], gpu["pcie_width"], gpu["pcie_max_gen"]) == (5, 16, 5)
    assert (gpu["clock_sm_mhz"], gpu["clock_sm_max_mhz"], gpu["temperature_c"]) == (1755, 1980, 41)
    assert gpu["power_draw_w"] == 71.43 and gpu["pstate"] == "P0"
    assert gpu["throttle_reasons"] == ["applications_clocks_setting", "sw_power_cap"]
    assert gpu["memory_total_mib"] == 80 * 1024
    assert nvml.setters_called == [] and not nvml.open  # read-only, and shut down again
    json.dumps(gpu)  # JSON-ready


def test_mig_slices_and_unsupported_fields():
    nvml = FakeNvml(mig=True, unsupported=("nvmlDeviceGetEccMode", "nvmlDeviceGetVbiosVersion"))
    (gpu,) = collect_gpus_nvml(nvml)
    assert gpu["mig_mode"] is True
    assert gpu["mig_devices"] == [
        {"uuid": "MIG-1111", "gpu_instance_id": 7, "memory_total_mib": 20 * 1024}
    ]
    assert gpu["ecc_mode"] is None and gpu["vbios_version"] is None  # unsupported: None


def test_absent_nvml_is_none_so_the_caller_falls_back():
    assert collect_gpus_nvml(FakeNvml(missing_library=True)) is None


def test_environment_uses_nvml_and_says_so(monkeypatch):
    monkeypatch.setattr(environment, "collect_gpus_nvml", lambda: collect_gpus_nvml(FakeNvml()))
    monkeypatch.setattr(environment, "collect_gpus", lambda: pytest.fail("nvidia-smi was asked"))
    gpus, source = environment.gpu_facts()
    assert source == "nvml" and gpus[0]["uuid"] == "GPU-abcd-0001"
    snapshot = environment.load_snapshot()
    assert snapshot["gpu_source"] == "nvml" and snapshot["gpus"][0]["temperature_c"] == 41


def test_nvidia_smi_only_where_nvml_is_absent(monkeypatch):
    monkeypatch.setattr(environment, "collect_gpus_nvml", lambda: None)
    monkeypatch.setattr(environment, "collect_gpus", lambda: [{"name": "from smi"}])
    assert environment.gpu_facts() == ([{"name": "from smi"}], "nvidia-smi")
    monkeypatch.setattr(environment, "collect_gpus", lambda: [])
    assert environment.gpu_facts() == ([], None)


@pytest.mark.gpu
def test_real_gpu_fingerprint():
    nvml = load_nvml()
    assert nvml is not None, "nvidia-ml-py is a dependency"
    gpus = collect_gpus_nvml(nvml)
    assert gpus, "NVML found no GPU on a machine with CUDA"
    assert gpus[0]["uuid"].startswith(("GPU-", "MIG-")) and gpus[0]["driver_version"]
    assert gpus[0]["clock_sm_mhz"] is not None and gpus[0]["power_enforced_limit_w"] is not None


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_quota_v1_v2_and_none(tmp_path):
    v2 = tmp_path / "v2"
    _write(v2, "sys/fs/cgroup/cgroup.controllers", "cpu io")
    _write(v2, "proc/self/cgroup", "0::/job\n")
    _write(v2, "sys/fs/cgroup/job/cpu.max", "150000 100000")
    assert cgroup_cpu_quota(v2) == {"cores": 1.5, "source": "cgroup2"}
    _write(v2, "sys/fs/cgroup/job/cpu.max", "max 100000")
    assert cgroup_cpu_quota(v2) == {"cores": None, "source": "cgroup2"}
    v1 = tmp_path / "v1"
    _write(v1, "sys/fs/cgroup/cpu/cpu.cfs_quota_us", "200000")
    _write(v1, "sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000")
    assert cgroup_cpu_quota(v1) == {"cores": 2.0, "source": "cgroup1"}
    assert cgroup_cpu_quota(tmp_path / "bare") == {"cores": None, "source": None}


def test_governors_smt_and_thread_environment(tmp_path):
    for cpu, governor in (("cpu0", "performance"), ("cpu1", "powersave"), ("cpu2", "performance")):
        _write(tmp_path, f"sys/devices/system/cpu/{cpu}/cpufreq/scaling_governor", governor)
    _write(tmp_path, "sys/devices/system/cpu/smt/active", "1")
    _write(tmp_path, "sys/devices/system/cpu/smt/control", "on")
    assert governors(tmp_path) == ["performance", "powersave"]
    assert smt(tmp_path) == {"active": True, "control": "on"}
    policy = cpu_policy(tmp_path, {"OMP_NUM_THREADS": "2", "HOME": "/root"})
    assert policy["thread_environment"] == {"OMP_NUM_THREADS": "2"}
    assert governors(tmp_path / "vm") is None
