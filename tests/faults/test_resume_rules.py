"""`--resume` refuses any change that alters how a stored row was measured (threads included)
and names the setting; it accepts added or dropped trials. Ratios that differ in any bit are
different points, so one never replaces the other."""

from __future__ import annotations

import json

import pytest

from harness.config.load import apply_overrides, config_to_dict, load_config
from harness.errors import ConfigError
from harness.results.keys import point_key
from harness.results.records import BenchmarkRun, Measurement, PrunePoint, read_run, write_run
from harness.results.resume_check import config_differences
from harness.results.session import RunSession

ENV = {"machine_id": "m-test", "commit": "abcdef0123", "dirty": False}


def _smoke(*overrides: str) -> dict:
    return config_to_dict(apply_overrides(load_config("smoke"), list(overrides)))


def _stored(tmp_path, config: dict):
    point = PrunePoint(
        method="dense",
        target_flops_ratio=1.0,
        achieved_flops_ratio=1.0,
        params=1,
        heads_per_layer=[4],
        neurons_per_layer=[64],
    )
    run = BenchmarkRun(config=config, environment=ENV, points=[point])
    return write_run(run, tmp_path)


def test_a_thread_change_is_refused_naming_the_runtime_and_the_file_is_untouched(tmp_path):
    path = _stored(tmp_path, _smoke())
    before = path.read_text()
    changed = _smoke("runtimes.threads=2")
    with pytest.raises(ConfigError) as refused:
        RunSession.open(changed, tmp_path, dict(ENV), resume=True)
    message = str(refused.value)
    assert "runtimes[torch-cpu-float32-eager].threads (1 -> 2)" in message
    assert "without --resume" in message
    assert path.read_text() == before  # the stored config still says what was measured


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("timing.min_iters=7", "timing.min_iters (5 -> 7)"),
        ("calibration.num_tokens=256", "calibration.num_tokens (512 -> 256)"),
        ("interleave_dense=false", "interleave_dense (True -> False)"),
        ('runtimes.1.dtype="float16"', None),  # another runtime: added/dropped, not changed
    ],
)
def test_measurement_settings_are_named_and_new_trials_are_not(override, named):
    found = config_differences(_smoke(), _smoke(override))
    assert found == ([named] if named else [])


def test_sweep_axes_and_added_runtimes_may_change():
    stored = _smoke()
    more = _smoke(
        "flops_ratios=[1.0, 0.5]",
        "batch_sizes=[2, 4]",
        'runtimes=[{backend="torch", threads=1}, {backend="onnxruntime", threads=1}, '
        '{backend="onnxruntime", variant="fused", threads=1}]',
    )
    assert config_differences(stored, more) == []
    fewer = _smoke('runtimes=[{backend="torch", threads=1}]')
    assert config_differences(stored, fewer) == []


def _row(ratio: float) -> Measurement:
    return Measurement(
        method="kprune",
        target_flops_ratio=ratio,
        achieved_flops_ratio=ratio,
        params=1,
        backend="torch",
        variant="eager",
        device="cpu",
        dtype="float32",
        batch_size=1,
        seq_len=16,
        samples_ms=[ratio],
    )


def test_ratios_closer_than_a_millionth_never_share_a_key(tmp_path):
    a, b = 0.5, 0.5 + 1e-9
    assert point_key("kprune", a) != point_key("kprune", b)
    path = _stored(tmp_path, _smoke())
    session = RunSession(path, read_run(path))
    for ratio in (a, b):
        point = PrunePoint(
            method="kprune",
            target_flops_ratio=ratio,
            achieved_flops_ratio=ratio,
            params=1,
            heads_per_layer=[4],
            neurons_per_layer=[64],
        )
        session.store_point(point, [_row(ratio)])
    stored = json.loads(path.read_text())
    assert [m["target_flops_ratio"] for m in stored["measurements"]] == [a, b]
