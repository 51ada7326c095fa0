"""Timing loop with a fake clock: exact counts, warm-up, first call, interleaving, no sleeps."""

from __future__ import annotations

import os

import pytest

from harness.measure.clock import Timed, TimingSpec, measure, measure_interleaved


class FakeDevice:
    """A clock that only moves when work runs: ``run`` costs ``step_s``, ``sync`` ``sync_s``."""

    def __init__(self, step_s: float = 0.25, sync_s: float = 0.0, first_s: float | None = None):
        self.now = 0.0
        self.step_s, self.sync_s, self.first_s = step_s, sync_s, first_s
        self.events: list[str] = []

    def clock(self) -> float:
        self.events.append("clock")
        return self.now

    def run(self) -> None:
        cold = self.first_s is not None and "run" not in self.events
        self.now += self.first_s if cold else self.step_s
        self.events.append("run")

    def sync(self) -> None:
        self.now += self.sync_s
        self.events.append("sync")


def _spec(**kwargs) -> TimingSpec:
    base = dict(warmup_iters=3, min_iters=10, min_seconds=0.0, max_iters=1000, max_seconds=1e9)
    return TimingSpec(**{**base, **kwargs})


def test_min_iters_bounds_the_run_when_min_seconds_is_met() -> None:
    dev = FakeDevice(step_s=0.25)
    result = measure(dev.run, dev.sync, _spec(min_iters=10, min_seconds=1.0), clock=dev.clock)
    assert result.samples_s == (0.25,) * 10
    assert dev.events.count("run") == 1 + 3 + 10
    assert result.warmup_s == 0.75 and result.samples_ms[0] == 250.0


def test_min_seconds_extends_the_run_past_min_iters() -> None:
    dev = FakeDevice(step_s=0.25)
    result = measure(dev.run, dev.sync, _spec(min_iters=4, min_seconds=5.0), clock=dev.clock)
    assert len(result.samples_s) == 20  # 20 x 0.25 s = 5 s


def test_max_iters_and_max_seconds_stop_early() -> None:
    dev = FakeDevice(step_s=0.5)
    spec = _spec(min_iters=5, min_seconds=100.0, max_iters=7)
    assert len(measure(dev.run, dev.sync, spec, clock=dev.clock).samples_s) == 7
    dev = FakeDevice(step_s=0.5)
    spec = _spec(min_iters=10_000, max_iters=10_000, min_seconds=0.0, max_seconds=100.0)
    # min_iters is out of reach: the 100 s wall bound stops it after 200 x 0.5 s
    assert len(measure(dev.run, dev.sync, spec, clock=dev.clock).samples_s) == 200


def test_first_call_is_recorded_apart_from_samples() -> None:
    dev = FakeDevice(step_s=0.25, first_s=8.0)
    result = measure(dev.run, dev.sync, _spec(warmup_iters=0, min_iters=3), clock=dev.clock)
    assert result.first_call_s == 8.0 and result.samples_s == (0.25, 0.25, 0.25)


def test_sync_runs_before_the_clock_is_read_and_is_timed() -> None:
    dev = FakeDevice(step_s=0.25, sync_s=0.5)
    result = measure(dev.run, dev.sync, _spec(warmup_iters=1, min_iters=2), clock=dev.clock)
    assert result.samples_s == (0.75, 0.75)
    timed = [e for e in dev.events if e != "clock"]
    assert timed == ["run", "sync"] * (1 + 1 + 2)
    last_run = len(dev.events) - 1 - dev.events[::-1].index("run")
    assert dev.events[last_run : last_run + 3] == ["run", "sync", "clock"]


def test_interleaved_runs_round_robin_with_equal_counts() -> None:
    order: list[str] = []
    now = [0.0]
    costs = {"dense": 0.5, "pruned": 0.25}

    def runner(name: str):
        def run() -> None:
            order.append(name)
            now[0] += costs[name]

        return Timed(run, lambda: None)

    spec = _spec(warmup_iters=2, min_iters=3, min_seconds=2.0)
    results = measure_interleaved({n: runner(n) for n in costs}, spec, clock=lambda: now[0])
    # pruned needs 8 x 0.25 s to reach 2 s; dense gets the same 8 rounds
    assert [len(r.samples_s) for r in results.values()] == [8, 8]
    assert order == ["dense", "pruned"] * (1 + 2 + 8)
    assert results["dense"].samples_s == (0.5,) * 8 and results["pruned"].first_call_s == 0.25


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(warmup_iters=-1),
        dict(min_iters=0),
        dict(min_iters=5, max_iters=4),
        dict(min_seconds=2.0, max_seconds=1.0),
    ],
)
def test_spec_validation(kwargs) -> None:
    with pytest.raises(ValueError):
        TimingSpec(**kwargs)


def test_nothing_to_time_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        measure_interleaved({}, TimingSpec())


# --- one backend per process ------------------------------------------------------------------


def _job(spec, artifact, **kwargs):
    from harness.measure.isolated import IsolatedJob

    names = ("input_ids", "attention_mask", "token_type_ids")
    return IsolatedJob(
        spec=spec,
        artifact=artifact,
        batch_size=2,
        seq_len=8,
        vocab_size=128,
        input_names=names,
        **kwargs,
    )


def test_one_backend_per_timing_process(tmp_path) -> None:
    from harness.measure.isolated import measure_isolated
    from harness.runtimes.base import RuntimeSpec

    jobs = {
        "a": _job(RuntimeSpec("torch"), tmp_path),
        "b": _job(RuntimeSpec("onnxruntime"), tmp_path),
    }
    with pytest.raises(ValueError, match="one backend"):
        measure_isolated(jobs, TimingSpec(), timeout_s=120)


@pytest.mark.slow  # exports, saves and starts Python processes
def test_subprocess_times_dense_and_pruned_interleaved(tmp_path) -> None:
    from harness.export.onnx import export_onnx
    from harness.measure.isolated import measure_isolated
    from harness.runtimes.base import RuntimeSpec
    from harness.runtimes.torch_runtime import save_module
    from tests.harness.pruned_models import tiny_dense, tiny_pruned

    spec = TimingSpec(warmup_iters=1, min_iters=3, min_seconds=0.0, max_iters=3)
    models = {"dense": tiny_dense(), "pruned": tiny_pruned()}
    onnx = {
        n: export_onnx(m, tmp_path / n, sample_batch_sizes=(1,), seq_lens=(8,)).path
        for n, m in models.items()
    }
    ort_spec = RuntimeSpec("onnxruntime", threads=2)
    ort_jobs = {n: _job(ort_spec, p) for n, p in onnx.items()}
    results = measure_isolated(ort_jobs, spec, timeout_s=120)
    assert [len(r.samples_s) for r in results.values()] == [3, 3]
    # one child timed both, it was not this process, and its sessions ran the requested threads
    assert len({r.pid for r in results.values()}) == 1
    assert results["dense"].pid not in (None, os.getpid())
    assert {r.threads for r in results.values()} == {2}
    assert all(s > 0 for r in results.values() for s in r.samples_s)
    saved = {n: save_module(m, tmp_path / f"{n}_torch") for n, m in models.items()}
    torch_spec = RuntimeSpec("torch", threads=1)
    results = measure_isolated(
        {n: _job(torch_spec, p) for n, p in saved.items()}, spec, timeout_s=120
    )
    assert set(results) == {"dense", "pruned"} and results["pruned"].first_call_s > 0


@pytest.mark.slow  # starts a Python process
def test_subprocess_failure_names_the_problem(tmp_path) -> None:
    from harness.measure.isolated import IsolatedTimingError, measure_isolated
    from harness.runtimes.base import RuntimeSpec

    job = _job(RuntimeSpec("onnxruntime"), tmp_path / "missing.onnx")
    with pytest.raises(IsolatedTimingError, match="missing.onnx"):
        measure_isolated({"x": job}, TimingSpec(min_iters=1, min_seconds=0.0), timeout_s=120)


@pytest.mark.slow  # starts a Python process
def test_ort_timing_child_imports_no_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, harness.measure.isolated, harness.runtimes.ort_runtime;"
        "sys.exit(int('torch' in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.slow  # starts a Python process
def test_a_child_past_its_timeout_is_killed_and_named(tmp_path) -> None:
    from harness.measure.isolated import IsolatedTimingError, measure_isolated
    from harness.runtimes.base import RuntimeSpec

    job = _job(RuntimeSpec("onnxruntime"), tmp_path / "never-read.onnx")
    with pytest.raises(IsolatedTimingError, match="ran past 0.001 s"):
        measure_isolated({"x": job}, TimingSpec(min_iters=1, min_seconds=0.0), timeout_s=0.001)
