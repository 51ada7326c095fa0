"""Gate settings: one place for defaults, tolerance by device class, per-group overrides."""

from __future__ import annotations

import pytest

from harness.config.gate_spec import GateSpec
from harness.config.load import apply_overrides, load_config
from harness.errors import ConfigError
from harness.gate.settings import settings_for

CPU_KEY = "kprune@0.5|torch/eager/cpu/float32|b1|s64"
ORT_KEY = "kprune@0.5|onnxruntime/default/cpu/float32|b1|s64"
GPU_KEY = "kprune@0.5|torch/eager/cuda/float16|b8|s128"


def test_defaults_are_the_documented_ones():
    spec = GateSpec()
    assert (spec.tol_cpu_ratio, spec.tol_gpu_ratio) == (0.10, 0.05)
    assert (spec.rounds_min, spec.rounds_max, spec.confidence) == (10, 30, 0.99)
    assert (spec.accuracy_fail_points, spec.accuracy_warn_points) == (0.5, 0.1)
    assert settings_for(spec, CPU_KEY, "cpu").tol_ratio == 0.10
    assert settings_for(spec, GPU_KEY, "cuda").tol_ratio == 0.05
    assert settings_for(spec, CPU_KEY, "cpu").target_half_width_ratio == pytest.approx(0.1 / 3)


def test_group_overrides_match_trial_keys_by_glob():
    config = apply_overrides(
        load_config("ci"), ['gate.groups={"*|onnxruntime/*" = {tol_ratio = 0.15, rounds_max = 40}}']
    )
    ort = settings_for(config.gate, ORT_KEY, "cpu")
    assert (ort.tol_ratio, ort.rounds_max) == (0.15, 40)
    assert settings_for(config.gate, CPU_KEY, "cpu").tol_ratio == 0.10


@pytest.mark.parametrize(
    "override",
    [
        "gate.tol_cpu_ratio=1.5",
        "gate.rounds_min=40",
        "gate.confidence=0.3",
        'gate.groups={"*" = {tolerance = 0.1}}',
        "gate.accuracy_warn_points=1.0",
    ],
)
def test_bad_gate_settings_name_the_key(override):
    with pytest.raises(ConfigError, match="gate"):
        apply_overrides(load_config("ci"), [override])


def test_ci_preset_is_sized_for_a_small_runner():
    config = load_config("ci")
    assert config.model.source == "finetuned" and config.task.name == "rotten_tomatoes"
    assert config.isolate_backends  # saves the pruned torch modules the gate re-times
    assert config.batch_sizes == (1,) and len(config.flops_ratios) <= 4
