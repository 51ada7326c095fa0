"""Sweep seeds (`BenchmarkConfig.seeds`): keys, plan, what a seed changes, a two-seed sweep end
to end (each seed against its own dense model, resumable, reported as mean ± spread)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from harness.config.load import apply_overrides, load_config
from harness.errors import ConfigError
from harness.report.seeds import seed_spread, seed_table
from harness.results.frame import points_frame
from harness.results.keys import dense_key_of, point_key, seed_of, trial_key
from harness.results.upgrade import upgrade_document
from harness.sweep.plan import expand_points, expand_trials
from harness.sweep.run import run_benchmark
from harness.sweep.seeds import seeded_config, seeded_method_config
from kprune.methods.random_ import RandomConfig

TORCH_ONLY = 'runtimes=[{backend = "torch", threads = 1}]'


def _config(*overrides: str):
    return apply_overrides(load_config("smoke"), [TORCH_ONLY, *overrides])


def test_seed_zero_keeps_the_plain_keys_and_other_seeds_are_marked() -> None:
    assert point_key("kprune", 0.5) == point_key("kprune", 0.5, 0) == "kprune@0.5"
    key = trial_key("kprune", 0.5, "torch", "eager", "cpu", "float32", 8, 128, seed=2)
    assert key.startswith("kprune@0.5~seed2|") and seed_of(key) == 2
    assert dense_key_of(key) == trial_key(
        "dense", 1.0, "torch", "eager", "cpu", "float32", 8, 128, seed=2
    )
    assert seed_of("kprune@0.5|torch/eager/cpu/float32|b8|s128") == 0


def test_the_plan_repeats_every_point_per_seed_each_seed_contiguous() -> None:
    config = _config("seeds=[0, 3]", "flops_ratios=[1.0, 0.5]")
    keys = [p.key for p in expand_points(config)]
    assert keys == ["dense@1.0", "kprune@0.5", "dense@1.0~seed3", "kprune@0.5~seed3"]
    trials = expand_trials(config)
    assert len({t.key for t in trials}) == len(trials)
    assert {t.dense_key for t in trials if t.point.seed == 3} == {
        t.key for t in trials if t.point.is_dense and t.point.seed == 3
    }


@pytest.mark.parametrize("seeds", ["[]", "[1, 1]", "[-1]"])
def test_bad_seeds_are_refused(seeds: str) -> None:
    with pytest.raises(ConfigError, match="seeds"):
        _config(f"seeds={seeds}")


def test_a_seed_offsets_the_calibration_draw_the_model_and_seeded_methods() -> None:
    config = _config("calibration.seed=5", "model.seed=7")
    assert seeded_config(config, 0) is config
    two = seeded_config(config, 2)
    assert (two.calibration.seed, two.model.seed) == (7, 9)
    assert dataclasses.replace(two, calibration=config.calibration, model=config.model) == config
    assert seeded_method_config(RandomConfig(target_flops_ratio=0.5, seed=4), 3).seed == 7


def test_upgraded_v3_results_are_seed_zero() -> None:
    doc = {"schema_version": 3, "points": [{"method": "dense"}], "measurements": [{"method": "x"}]}
    upgraded = upgrade_document(doc, "stem")
    assert upgraded["points"][0]["seed"] == 0 and upgraded["measurements"][0]["seed"] == 0


@pytest.mark.slow
def test_two_seed_sweep_each_seed_against_its_own_dense_resumable(tmp_path: Path) -> None:
    config = _config("seeds=[0, 1]", "flops_ratios=[1.0, 0.5]", 'methods=["kprune", "random"]')
    out = tmp_path / "results"
    run = run_benchmark(config, out, progress=False)
    points = {point_key(p.method, p.target_flops_ratio, p.seed): p for p in run.points}
    assert sorted(points) == sorted(p.key for p in expand_points(config))
    # tiny-random weights come from model.seed + seed: each seed's dense model differs
    assert points["dense@1.0"].metric_value is not None
    masks = {k: (p.heads_per_layer, p.neurons_per_layer) for k, p in points.items()}
    assert masks["random@0.5"] != masks["random@0.5~seed1"]
    for row in run.measurements:
        assert row.error is None and row.dense_samples_ms or row.method == "dense"
        assert row.seed in (0, 1)
    # resuming with the same seeds redoes nothing; the spread has one row per (method, ratio)
    done = []
    run_benchmark(config, out, resume=True, progress=False, on_point_done=done.append)
    assert done == []
    frame = points_frame([(None, run)])
    spread = seed_spread(frame)
    assert list(spread["seeds"]) == [2, 2, 2]
    kprune = spread[spread["method"].eq("kprune")].iloc[0]
    values = frame[frame["method"].eq("kprune")]["metric_value"].astype(float)
    assert kprune["metric_mean"] == pytest.approx(values.mean())
    assert kprune["metric_std"] == pytest.approx(values.std())
    assert "±" in seed_table(frame)


def test_the_spread_shows_unreachable_ratios() -> None:
    frame = pd.DataFrame(
        {
            "method": ["kcm", "kcm", "kprune", "kprune"],
            "target_flops_ratio": [0.2, 0.2, 0.2, 0.2],
            "seed": [0, 1, 0, 1],
            "metric_value": [None, None, 0.7, 0.8],
            "metric_name": ["accuracy"] * 4,
            "achieved_flops_ratio": [0.0, 0.0, 0.2, 0.2],
            "prune_seconds": [None, None, 1.0, 3.0],
            "error": ["unreachable budget: no", "unreachable budget: no", None, None],
        }
    )
    text = seed_table(frame)
    assert "unreachable" in text and "0.7500 ± 0.0707" in text
