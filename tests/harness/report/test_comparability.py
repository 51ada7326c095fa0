"""Comparability classes on canned fingerprints: A same device and stack, B same device with the
differing fields listed, C different devices."""

from __future__ import annotations

from harness.report.comparability import UNRECORDED, classify, fingerprint_of
from tests.harness.report.study_runs import environment


def gpu_env(uuid: str, power_w: float = 700.0, **extra) -> dict:
    gpu = {
        "name": "NVIDIA H100",
        "uuid": uuid,
        "driver_version": "570.86",
        "mig_mode": False,
        "power_enforced_limit_w": power_w,
        "applications_clock_sm_mhz": 1980,
    }
    return environment("m-gpu", gpus=[gpu], timing_devices={"cuda": uuid}, **extra)


def test_same_device_and_stack_is_a():
    a = fingerprint_of(environment("m-a"), "cpu", [1, 1])
    b = fingerprint_of(environment("m-a"), "cpu", [1])
    comparison = classify(a, b)
    assert comparison.comparability == "A" and comparison.differing == ()


def test_same_device_other_threads_or_versions_is_b_with_the_fields():
    base = fingerprint_of(environment("m-a"), "cpu", [1])
    threads = fingerprint_of(environment("m-a"), "cpu", [2])
    assert classify(base, threads).differing == (("threads", "1", "2"),)
    env = environment("m-a", threads_env="4")
    env["versions"] = {**env["versions"], "torch": "2.14.0"}
    comparison = classify(base, fingerprint_of(env, "cpu", [1]))
    assert comparison.comparability == "B"
    fields = {name for name, _, _ in comparison.differing}
    assert fields == {"torch", "thread environment"}
    assert "torch (2.13.0 vs 2.14.0)" in comparison.reason


def test_a_field_recorded_on_one_side_only_is_a_difference():
    old = environment("m-a")
    del old["cpu_policy"]
    comparison = classify(
        fingerprint_of(old, "cpu", [1]), fingerprint_of(environment("m-a"), "cpu", [1])
    )
    assert comparison.comparability == "B"
    assert ("governors", UNRECORDED, "performance") in comparison.differing


def test_different_machines_or_gpus_are_c():
    cpu_a = fingerprint_of(environment("m-a"), "cpu", [1])
    cpu_b = fingerprint_of(environment("m-b"), "cpu", [1])
    assert classify(cpu_a, cpu_b).comparability == "C"
    gpu_1 = fingerprint_of(gpu_env("GPU-1"), "cuda", [None])
    gpu_2 = fingerprint_of(gpu_env("GPU-2"), "cuda", [None])
    assert classify(gpu_1, gpu_2).comparability == "C"
    # one machine's CPU and its GPU are two devices too
    cpu_of_gpu_box = fingerprint_of(gpu_env("GPU-1"), "cpu", [1])
    assert classify(cpu_of_gpu_box, gpu_1).comparability == "C"


def test_same_gpu_other_power_limit_is_b():
    full = fingerprint_of(gpu_env("GPU-1"), "cuda", [None])
    capped = fingerprint_of(gpu_env("GPU-1", power_w=400.0), "cuda", [None])
    comparison = classify(full, capped)
    assert comparison.comparability == "B"
    assert comparison.differing == (("power limit enforced (W)", "700.0", "400.0"),)
