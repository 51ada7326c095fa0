"""The sweep on the smoke preset: every stage end to end; an interrupted sweep resumed with
`--resume` loses no finished point and redoes none; failures stop or are recorded."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from harness.cli import main
from harness.config.load import apply_overrides, load_config
from harness.results.keys import measurement_key
from harness.results.records import read_run
from harness.sweep import stages
from harness.sweep.plan import expand_trials
from harness.sweep.run import SweepError, run_benchmark

pytestmark = pytest.mark.slow

TORCH_ONLY = ['runtimes=[{backend = "torch", threads = 1}]']


class Interrupt(Exception):
    """Stands for Ctrl-C / a killed process after some points."""


def _torch_smoke():
    return apply_overrides(load_config("smoke"), TORCH_ONLY)


def _only_results_file(out: Path) -> Path:
    (path,) = sorted(out.rglob("*.json"))
    return path


def _point_keys(run) -> list[str]:
    return [f"{p.method}@{p.target_flops_ratio}" for p in run.points]


def test_smoke_sweep_runs_every_stage(tmp_path: Path):
    config = load_config("smoke")
    run = run_benchmark(config, tmp_path / "results", progress=False)
    assert _point_keys(run) == ["dense@1.0", "kprune@0.6", "kprune@0.3"]
    assert len(run.measurements) == len(expand_trials(config)) == 6
    assert all(m.error is None and m.latency is not None for m in run.measurements)
    assert all(m.metric_name == "accuracy" and m.metric_value is not None for m in run.measurements)
    pruned = [m for m in run.measurements if m.method == "kprune"]
    assert all(m.speedup_vs_dense and m.speedup_ci95_low and m.ideal_speedup for m in pruned)
    assert all(m.achieved_flops_ratio < 1.0 for m in pruned)
    assert read_run(_only_results_file(tmp_path / "results")) == run
    artifacts = tmp_path / "bench_artifacts"
    # The dense point's own export is its interleaved twin: exported and gated once per sweep.
    folders = {p.parent.name for p in artifacts.rglob("*.onnx")}
    assert folders == {"dense_1.0", "kprune_0.6", "kprune_0.3"}
    logs = sorted(artifacts.rglob("prune_log.json"))
    assert len(logs) == 2 and len(list(artifacts.rglob("*.manifest.json"))) == 3
    # the pruning log is the stored record itself (one shape), less the metric added later
    stored = {(p.method, p.target_flops_ratio): p for p in run.points}
    logged = json.loads(logs[0].read_text())
    key = (logged["method"], logged["target_flops_ratio"])
    metric = dict.fromkeys(("metric_name", "metric_value", "metric_source"))
    assert {**logged, **metric, "metrics_by_runtime": {}} == {
        **dataclasses.asdict(stored[key]),
        **metric,
        "metrics_by_runtime": {},
    }
    assert logged["method_config"]["target_flops_ratio"] == logged["target_flops_ratio"]
    # every timing group left the machine state before and after it in its rows
    assert all(m.state_before and m.state_after for m in run.measurements)
    # every backend timed the same padded inputs, and each row says so
    assert {(m.pad_last_rows, m.padded_token_fraction) for m in run.measurements} == {(1, 0.25)}
    # each row carries the metric its own runtime scored
    assert {m.metric_source for m in run.measurements} == {
        "torch-cpu-float32-eager",
        "onnxruntime-cpu-float32-default",
    }


def test_interrupted_sweep_resumes_without_losing_or_redoing_points(tmp_path: Path):
    # Without interleaving, a resumed point's speedup must come from the stored dense samples.
    config = apply_overrides(_torch_smoke(), ["interleave_dense=false"])
    out = tmp_path / "results"
    first: list = []

    def interrupt_after_two(point) -> None:
        first.append(point)
        if len(first) == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_benchmark(config, out, progress=False, on_point_done=interrupt_after_two)
    path = _only_results_file(out)
    stored = read_run(path)
    assert _point_keys(stored) == ["dense@1.0", "kprune@0.6"]
    assert len(stored.measurements) == 2

    second: list = []
    run = run_benchmark(config, out, resume=True, progress=False, on_point_done=second.append)
    assert [f"{p.method}@{p.target_flops_ratio}" for p in second] == ["kprune@0.3"]
    assert _only_results_file(out) == path
    assert _point_keys(run) == ["dense@1.0", "kprune@0.6", "kprune@0.3"]
    keys = [measurement_key(m) for m in run.measurements]
    assert sorted(keys) == sorted(t.key for t in expand_trials(config))
    assert all(m in run.measurements for m in stored.measurements)  # kept as they were
    assert run.measurements[-1].speedup_vs_dense is not None  # from the stored dense samples
    assert read_run(path) == run

    third: list = []
    again = run_benchmark(config, out, resume=True, progress=False, on_point_done=third.append)
    assert third == [] and again.measurements == run.measurements


def test_first_failure_stops_and_keeps_finished_points(tmp_path: Path, monkeypatch):
    config, out = _torch_smoke(), tmp_path / "results"
    real_build = stages.build_point

    def failing_build(inputs, point, folder, progress):
        if point.target_flops_ratio == 0.3:
            raise RuntimeError("injected failure")
        return real_build(inputs, point, folder, progress)

    monkeypatch.setattr(stages, "build_point", failing_build)
    with pytest.raises(SweepError, match="kprune@0.3 failed: RuntimeError: injected failure"):
        run_benchmark(config, out, progress=False)
    assert _point_keys(read_run(_only_results_file(out))) == ["dense@1.0", "kprune@0.6"]

    run = run_benchmark(config, out, resume=True, keep_going=True, progress=False)
    failed = [p for p in run.points if p.error]
    assert [f"{p.method}@{p.target_flops_ratio}" for p in failed] == ["kprune@0.3"]
    assert [m.error for m in run.measurements if m.target_flops_ratio == 0.3] == [
        "RuntimeError: injected failure"
    ]

    monkeypatch.setattr(stages, "build_point", real_build)
    redone: list = []
    run = run_benchmark(config, out, resume=True, progress=False, on_point_done=redone.append)
    assert [p.target_flops_ratio for p in redone] == [0.3]
    assert not any(p.error for p in run.points) and len(run.points) == 3
    assert not any(m.error for m in run.measurements) and len(run.measurements) == 3


def test_resume_refuses_a_changed_config(tmp_path: Path):
    out = tmp_path / "results"
    config = apply_overrides(_torch_smoke(), ["flops_ratios=[1.0]"])
    run_benchmark(config, out, progress=False)
    changed = apply_overrides(config, ["timing.min_iters=4"])
    with pytest.raises(ValueError, match="config differs in timing"):
        run_benchmark(changed, out, resume=True, progress=False)
    extended = apply_overrides(config, ["flops_ratios=[1.0, 0.5]"])  # a sweep axis may grow
    assert len(run_benchmark(extended, out, resume=True, progress=False).points) == 2


def test_cli_sweep_prints_the_summary(tmp_path: Path, capsys):
    argv = ["-q", "--no-progress", "sweep", "smoke", "--out", str(tmp_path / "results")]
    argv += ["--plots", str(tmp_path / "plots")]
    assert main([*argv, "--set", TORCH_ONLY[0], "--set", "flops_ratios=[1.0,0.5]"]) == 0
    out = capsys.readouterr().out
    assert "speedup" in out and "kprune" in out and "dense" in out
    written = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert any("speedup" in name for name in written), written


def test_isolated_backends_are_timed_in_a_child_process(tmp_path: Path):
    config = apply_overrides(_torch_smoke(), ["isolate_backends=true", "flops_ratios=[1.0, 0.5]"])
    run = run_benchmark(config, tmp_path / "results", progress=False)
    assert [m.error for m in run.measurements] == [None, None]
    # measured in the child, not copied from the request: its pid is not ours, and torch there
    # reported the one intra-op thread it was asked for
    assert all(m.threads == 1 and m.latency is not None for m in run.measurements)
    assert all(m.timing_pid not in (None, os.getpid()) for m in run.measurements)
    folders = {p.parent.name for p in (tmp_path / "bench_artifacts").rglob("module")}
    assert folders == {"dense_1.0", "kprune_0.5"}


def test_a_ratio_the_method_cannot_reach_is_recorded_as_unreachable_and_the_sweep_goes_on(
    tmp_path: Path,
):
    """KCM keeps every head, so the smoke model's 0.3 is below its floor: that point is a
    result (unreachable), not a failure; the sweep stores the others and exits 0."""
    from harness.cli import main
    from harness.results.records import is_unreachable

    out = tmp_path / "results"
    code = main(
        ["--no-progress", "-q", "sweep", "smoke", "--out", str(out), "--no-plots"]
        + [f"--set={item}" for item in TORCH_ONLY]
        + ["--set=methods=['kcm']"]
    )
    assert code == 0
    run = read_run(_only_results_file(out))
    by_key = {f"{p.method}@{p.target_flops_ratio}": p for p in run.points}
    assert is_unreachable(by_key["kcm@0.3"].error)
    assert "lowest kept FLOPs ratio" in by_key["kcm@0.3"].error
    assert by_key["kcm@0.6"].error is None
