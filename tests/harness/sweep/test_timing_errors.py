"""One failing runtime is recorded as its own error rows while the rest of its timing group is
timed, in this process and in a timing child; the machine state and the padding are recorded in
both paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.load import apply_overrides, load_config
from harness.sweep import timing
from harness.sweep.run import SweepError, run_benchmark

pytestmark = pytest.mark.slow

TWO_ORT = (
    'runtimes=[{backend = "onnxruntime", variant = "default", threads = 1}, '
    '{backend = "onnxruntime", variant = "iobinding", threads = 1}]'
)


class InjectedFailure(RuntimeError):
    """Stands for a runtime that cannot load here (a provider, a kernel)."""


def _config(*extra: str):
    return apply_overrides(load_config("smoke"), [TWO_ORT, "flops_ratios=[1.0, 0.6]", *extra])


def _iobinding_fails(monkeypatch) -> None:
    real = timing.load_runtime

    def load(spec, artifact):
        if spec.variant == "iobinding":
            raise InjectedFailure("iobinding cannot load")
        return real(spec, artifact)

    monkeypatch.setattr(timing, "load_runtime", load)


def test_a_failing_runtime_does_not_take_its_group_down(tmp_path: Path, monkeypatch) -> None:
    _iobinding_fails(monkeypatch)
    run = run_benchmark(_config(), tmp_path / "results", keep_going=True, progress=False)
    rows = {(m.variant, m.method): m for m in run.measurements}
    assert {k: m.error for k, m in rows.items() if k[0] == "iobinding"} == {
        ("iobinding", "dense"): "InjectedFailure: iobinding cannot load",
        ("iobinding", "kprune"): "InjectedFailure: iobinding cannot load",
    }
    timed = [m for m in run.measurements if m.variant == "default"]
    assert len(timed) == 2 and all(m.error is None and m.latency for m in timed)
    assert rows[("default", "kprune")].speedup_vs_dense is not None
    assert all(m.state_before and m.state_after for m in run.measurements)


def test_without_keep_going_the_failing_runtime_stops_the_sweep(tmp_path: Path, monkeypatch):
    _iobinding_fails(monkeypatch)
    with pytest.raises(SweepError, match="InjectedFailure: iobinding cannot load"):
        run_benchmark(_config(), tmp_path / "results", progress=False)


def test_a_timing_child_records_state_padding_and_per_runtime_errors(tmp_path: Path) -> None:
    # the child cannot open the iobinding runtime's graph (a path that is not there)
    config = _config("isolate_backends=true")
    real = timing._child_job

    def child_job(inputs, trial, path):
        gone = path.with_name("gone.onnx") if trial.runtime.variant == "iobinding" else path
        return real(inputs, trial, gone)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timing, "_child_job", child_job)
        run = run_benchmark(config, tmp_path / "results", keep_going=True, progress=False)
    failed = [m for m in run.measurements if m.error]
    assert {m.variant for m in failed} == {"iobinding"}
    assert all("gone.onnx" in m.error for m in failed)
    timed = [m for m in run.measurements if not m.error]
    assert len(timed) == 2 and all(m.timing_pid and m.latency for m in timed)
    assert all(m.state_before and m.state_after for m in run.measurements)
    assert {m.pad_last_rows for m in run.measurements} == {1}
