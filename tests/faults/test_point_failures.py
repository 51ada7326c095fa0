"""What a failing point does: a tiny ratio keeps its measured point; a usage error inside a
point stops the sweep (even under --keep-going) with one line and the finished points kept;
an unexpected failure under --keep-going is recorded and the sweep goes on."""

from __future__ import annotations

import pytest

from harness.results.records import read_run
from harness.sweep import stages
from kprune import ConfigError as KpruneConfigError
from tests.faults.helpers import (
    assert_clean_failure,
    results_files,
    run_main,
    smoke_argv,
    stored_points,
)

pytestmark = pytest.mark.slow  # sweeps


def test_a_tiny_ratio_under_keep_going_keeps_its_measured_point(tmp_path, capsys):
    out = tmp_path / "results"
    argv = smoke_argv(out, "--keep-going", "--set", "flops_ratios=[1.0, 0.001]", torch_only=False)
    code, err = run_main(argv, capsys)
    assert code == 0, err
    run = read_run(results_files(out)[0])
    tiny = [m for m in run.measurements if m.target_flops_ratio == 0.001]
    assert len(tiny) == 2 and all(m.error is None and m.latency is not None for m in tiny)
    assert all(m.ideal_speedup is None or m.ideal_speedup >= 1000 for m in tiny)


def _fail_at(monkeypatch, ratio: float, error: Exception) -> None:
    real = stages.build_point

    def build(inputs, point, folder, progress):
        if point.target_flops_ratio == ratio:
            raise error
        return real(inputs, point, folder, progress)

    monkeypatch.setattr(stages, "build_point", build)


def test_a_config_error_under_keep_going_is_one_line_and_keeps_points(
    tmp_path, capsys, caplog, monkeypatch
):
    out = tmp_path / "results"
    _fail_at(monkeypatch, 0.3, KpruneConfigError("num_samples must be > 0; set it >= 1"))
    code, err = run_main(smoke_argv(out, "--keep-going"), capsys)
    assert_clean_failure(code, err, "num_samples must be > 0")
    assert not [r for r in caplog.records if r.exc_info]
    assert stored_points(results_files(out)[0]) == ["dense@1.0", "kprune@0.6"]


def test_an_unexpected_failure_under_keep_going_is_recorded(tmp_path, capsys, monkeypatch):
    out = tmp_path / "results"
    _fail_at(monkeypatch, 0.6, RuntimeError("injected"))
    code, _ = run_main(smoke_argv(out, "--keep-going"), capsys)
    assert code == 1
    run = read_run(results_files(out)[0])
    assert [p.error for p in run.points] == [None, "RuntimeError: injected", None]
