"""Reading the gate's inputs: stored runs and pytest-benchmark files; unreadable ones exit 2."""

from __future__ import annotations

import json

import pytest

from harness.gate.evidence import read_side, side_from_run
from harness.results.records import BenchmarkRun, Measurement, PrunePoint, ResultsFileError

KEY = "kprune@0.5|torch/eager/cpu/float32|b1|s64"


def _row(method: str, ratio: float, **fields) -> Measurement:
    base = dict(
        method=method,
        target_flops_ratio=ratio,
        achieved_flops_ratio=ratio,
        params=10,
        backend="torch",
        variant="eager",
        device="cpu",
        dtype="float32",
        batch_size=1,
        seq_len=64,
    )
    return Measurement(**{**base, **fields})


def stored_run() -> BenchmarkRun:
    point = PrunePoint(
        method="kprune",
        target_flops_ratio=0.5,
        achieved_flops_ratio=0.49,
        params=10,
        heads_per_layer=[1],
        neurons_per_layer=[2],
        metric_name="accuracy",
        metric_value=0.8,
        method_config={"seed": 0},
    )
    rows = [
        _row("dense", 1.0, speedup_vs_dense=1.0),
        _row("kprune", 0.5, speedup_vs_dense=1.8, speedup_ci95_low=1.7, speedup_ci95_high=1.9),
        _row("kprune", 0.3, error="RuntimeError: boom"),
    ]
    return BenchmarkRun(
        config={"name": "ci", "seed": 0}, environment={}, points=[point], measurements=rows
    )


def test_a_stored_run_gives_pruned_trials_and_metrics():
    side = side_from_run(stored_run(), "run.json")
    assert set(side.trials) == {KEY, "kprune@0.3|torch/eager/cpu/float32|b1|s64"}
    assert side.trials[KEY].final.speedup == 1.8 and side.trials[KEY].final.high == 1.9
    assert side.trials["kprune@0.3|torch/eager/cpu/float32|b1|s64"].error == "RuntimeError: boom"
    assert side.points["kprune@0.5|seed=0"].metric_value == 0.8


def test_a_pytest_benchmark_file_gives_the_kprune_extra_info(tmp_path):
    info = {
        "trial_key": KEY,
        "device": "cpu",
        "speedup": 2.0,
        "ci_low": 1.9,
        "ci_high": 2.1,
        "confidence": 0.99,
        "rounds": 10,
        "log_ratios": [0.69] * 10,
        "method": "kprune",
        "target_flops_ratio": 0.5,
        "seed": 0,
        "metric_name": "accuracy",
        "metric_value": 0.75,
        "fingerprint": {"cpu_model": "X"},
    }
    doc = {
        "machine_info": {},
        "benchmarks": [{"name": "test_x", "extra_info": {"kprune": info}}, {"name": "other"}],
    }
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(doc))
    side = read_side(path)
    assert list(side.trials) == [KEY] and side.trials[KEY].first.speedup == 2.0
    assert side.points["kprune@0.5|seed=0"].metric_value == 0.75
    assert side.environment == {"cpu_model": "X"} and not side.remeasurable


@pytest.mark.parametrize(
    "text", ["{not json", "[1, 2]", '{"benchmarks": [{"extra_info": {"kprune": {"speedup": 1}}}]}']
)
def test_unreadable_inputs_name_the_file(tmp_path, text):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(ResultsFileError, match="broken.json"):
        read_side(path)
