"""A runtime that fails is its own error while the others are timed (fake clock, no sleeps), in
this process and in a timing child; without keep-going the first error is raised as it is."""

from __future__ import annotations

import pytest

from harness.measure.clock import Timed, TimingResult, TimingSpec
from harness.measure.survivors import Failure, measure_survivors
from tests.harness.measure.test_timing import FakeDevice

SPEC = TimingSpec(warmup_iters=1, min_iters=5, min_seconds=0.0, max_iters=5, max_seconds=1e9)


class Broken(RuntimeError):
    """Stands for a runtime error (a CUDA error, an ORT kernel failure)."""


def _failing_after(calls: int, dev: FakeDevice) -> Timed:
    count = iter(range(10_000))

    def run() -> None:
        if next(count) >= calls:
            raise Broken(f"failed at call {calls}")
        dev.run()

    return Timed(run, dev.sync)


def _not_loadable() -> Timed:
    raise Broken("no such provider")


def test_failures_at_load_and_while_timed_leave_the_others_timed() -> None:
    dev = FakeDevice(step_s=0.25)
    setups = {
        "a": lambda: Timed(dev.run, dev.sync),
        "broken_at_load": _not_loadable,
        "broken_later": lambda: _failing_after(4, dev),
        "b": lambda: Timed(dev.run, dev.sync),
    }
    results = measure_survivors(setups, SPEC, stop_on_error=False, clock=dev.clock)
    assert results["broken_at_load"] == Failure("Broken: no such provider")
    assert results["broken_later"] == Failure("Broken: failed at call 4")
    # the survivors were timed again from the start, with the same rounds each
    assert all(isinstance(results[k], TimingResult) for k in ("a", "b"))
    assert [len(results[k].samples_s) for k in ("a", "b")] == [5, 5]


def test_without_keep_going_the_first_error_is_raised_as_it_is() -> None:
    dev = FakeDevice()
    with pytest.raises(Broken, match="no such provider"):
        measure_survivors({"x": _not_loadable}, SPEC, stop_on_error=True, clock=dev.clock)
    setups = {"late": lambda: _failing_after(2, dev)}
    with pytest.raises(Broken, match="call 2"):
        measure_survivors(setups, SPEC, stop_on_error=True, clock=dev.clock)


def test_everything_failing_is_only_failures() -> None:
    results = measure_survivors({"x": _not_loadable}, SPEC, stop_on_error=False)
    assert results == {"x": Failure("Broken: no such provider")}


@pytest.mark.slow  # exports a graph and starts a Python process
def test_a_timing_child_returns_the_error_of_its_failing_job(tmp_path) -> None:
    from harness.export.onnx import export_onnx
    from harness.measure.isolated import measure_isolated
    from harness.runtimes.base import RuntimeSpec
    from tests.harness.measure.test_timing import _job
    from tests.harness.pruned_models import tiny_pruned

    graph = export_onnx(tiny_pruned(), tmp_path, sample_batch_sizes=(2,), seq_lens=(8,)).path
    spec = RuntimeSpec("onnxruntime", threads=1)
    jobs = {
        "ok": _job(spec, graph, pad_last_rows=1),
        "missing": _job(spec, tmp_path / "missing.onnx"),
    }
    results = measure_isolated(jobs, SPEC, timeout_s=120, stop_on_error=False)
    assert isinstance(results["ok"], TimingResult) and len(results["ok"].samples_s) == 5
    assert isinstance(results["missing"], Failure) and "missing.onnx" in results["missing"].error
