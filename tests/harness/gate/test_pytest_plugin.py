"""The `kprune_trial` fixture (entry point pytest11) on the tiny model: `--benchmark-disable`
times nothing; `--benchmark-enable --benchmark-json` writes a file `kprune-bench gate` reads."""

from __future__ import annotations

import json

import pytest

from harness.cli import main

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow

INNER_TEST = """
from pathlib import Path

from harness.config.gate_spec import GateSpec
from kprune import KpruneConfig, prune
from tests.conftest import make_batches, tiny_model

FAST = GateSpec(rounds_min=4, rounds_max=6, block_calls=3, warmup_calls=1, n_boot=200)


def test_tiny_speedup(kprune_trial):
    dense = tiny_model("bert")
    result = prune(dense, make_batches(), KpruneConfig(target_flops_ratio=0.5))
    outcome = kprune_trial(
        dense, result, batch_size=2, seq_len=16, metric=("accuracy", 0.5), gate=FAST
    )
    assert outcome.key == "kprune@0.5|torch/eager/cpu/float32|b2|s16"
    if outcome.measured:
        assert outcome.speedup > 0 and outcome.ci_low <= outcome.speedup <= outcome.ci_high
        assert 4 <= outcome.rounds <= 6
    Path("measured.txt").write_text(str(outcome.measured))
"""


def test_the_plugin_is_registered_through_its_entry_point(pytester):
    config = pytester.parseconfig()
    assert config.pluginmanager.has_plugin("kprune")


def test_benchmark_disable_runs_each_model_once_and_times_nothing(pytester):
    pytester.makepyfile(test_inner=INNER_TEST)
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "--benchmark-disable")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "measured.txt").read_text() == "False"


def test_benchmark_json_is_accepted_by_the_gate(pytester, tmp_path):
    pytester.makepyfile(test_inner=INNER_TEST)
    out = tmp_path / "bench.json"
    result = pytester.runpytest_inprocess(
        "-q", "-p", "no:cacheprovider", "--benchmark-enable", f"--benchmark-json={out}"
    )
    result.assert_outcomes(passed=1)
    assert (pytester.path / "measured.txt").read_text() == "True"
    (bench,) = json.loads(out.read_text())["benchmarks"]
    info = bench["extra_info"]["kprune"]
    assert bench["stats"]["rounds"] == 4 * 3  # pytest-benchmark timed the pruned calls
    assert info["achieved_flops_ratio"] <= 0.55 and len(info["log_ratios"]) == info["rounds"]
    assert info["fingerprint"]["machine_id"] and info["metric_value"] == 0.5
    report = tmp_path / "report"
    code = main(
        ["-q", "gate", "--candidate", str(out), "--baseline", str(out), "--out", str(report)]
    )
    assert code == 0
    assert json.loads((report / "gate.json").read_text())["verdict"] == "PASS"
