"""Environment fingerprint: keys, git facts, nvidia-smi parsing (fixed text), machine id."""

from __future__ import annotations

import json

import pytest

from harness.results.environment import collect_environment, git_info, machine_id
from harness.results.gpu_info import collect_gpus, decode_throttle_reasons, parse_cuda_version

H100_ROW = (
    "0, NVIDIA H100 80GB HBM3, 570.86.15, 00000000:19:00.0, 81559, 1980, 2619, 1980, 2619, "
    "700.00, 71.43, 33, P0, 0x0000000000000004"
)
BANNER = "| NVIDIA-SMI 570.86.15    Driver Version: 570.86.15    CUDA Version: 12.8     |"


def test_environment_has_the_provenance_fields() -> None:
    env = collect_environment()
    for key in (
        "commit",
        "dirty",
        "branch",
        "python",
        "versions",
        "cpu_model",
        "logical_cores",
        "load_average",
        "total_memory_bytes",
        "torch_threads",
        "gpus",
        "os",
        "ort_available_providers",
        "cudnn_version",
        "machine_id",
    ):
        assert key in env
    assert set(env["versions"]) >= {"torch", "transformers", "onnx", "onnxruntime", "numpy"}
    assert env["versions"]["onnxruntime"] is not None
    assert len(env["load_average"]) == 3 and env["logical_cores"] >= 1
    assert json.loads(json.dumps(env)) == env  # JSON-ready


def test_outside_a_repository_the_commit_is_unknown(tmp_path) -> None:
    assert git_info(tmp_path) == {"commit": None, "dirty": None, "branch": None}


def test_nvidia_smi_rows_are_parsed_and_throttle_reasons_decoded() -> None:
    calls: list[list[str]] = []

    def fake(args):
        calls.append(list(args))
        return BANNER if not args else H100_ROW + "\n"

    (gpu,) = collect_gpus(fake)
    assert gpu["name"] == "NVIDIA H100 80GB HBM3" and gpu["driver_version"] == "570.86.15"
    assert gpu["clock_sm_mhz"] == 1980 and gpu["power_limit_w"] == 700
    assert gpu["power_draw_w"] == 71.43 and gpu["temperature_c"] == 33
    assert gpu["throttle_reasons"] == ["sw_power_cap"] and gpu["cuda_driver_version"] == "12.8"
    assert all(arg.startswith("--query-gpu=") or arg.startswith("--format") for arg in calls[0])


def test_old_drivers_get_the_legacy_throttle_field_and_missing_values_are_none() -> None:
    def fake(args):
        if args and "clocks_event_reasons.active" in args[0]:
            return None  # an older nvidia-smi rejects the new field name
        row = H100_ROW.replace("71.43", "[N/A]").replace("0x0000000000000004", "[Not Supported]")
        return row if args else None

    (gpu,) = collect_gpus(fake)
    assert gpu["power_draw_w"] is None and gpu["throttle_reasons"] is None
    assert gpu["cuda_driver_version"] is None


def test_no_nvidia_smi_means_no_gpus() -> None:
    assert collect_gpus(lambda args: None) == []


def test_throttle_and_banner_helpers() -> None:
    assert decode_throttle_reasons("0x0000000000000001") == ["gpu_idle"]
    assert decode_throttle_reasons("0x48") == ["hw_slowdown", "hw_thermal_slowdown"]
    assert parse_cuda_version("no banner") is None


def test_machine_id_is_stable_and_hardware_sensitive() -> None:
    env = {"hostname_hash": "abc", "cpu_model": "AMD EPYC", "gpus": []}
    assert machine_id(env) == machine_id(dict(env))
    assert machine_id(env) != machine_id({**env, "gpus": [{"name": "NVIDIA H100"}]})
    assert machine_id(env).startswith("m-")


@pytest.mark.gpu
def test_gpu_facts_are_collected_on_a_gpu_machine() -> None:
    env = collect_environment()
    assert env["gpus"] and env["gpus"][0]["name"] and env["cudnn_version"]
