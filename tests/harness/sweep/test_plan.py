"""expand_trials: method x ratio x runtime x batch x seq, dense once, stable unique keys."""

from __future__ import annotations

import dataclasses

from harness.config.load import apply_overrides, load_config
from harness.results.keys import DENSE_METHOD, measurement_key
from harness.sweep.plan import (
    artifacts_needed,
    describe_plan,
    expand_points,
    expand_trials,
    trials_by_point,
)
from harness.sweep.types import Point
from kprune import METHOD_CONFIGS
from tests.harness.handmade_runs import measurement


def test_dense_is_planned_once_then_every_method_at_every_pruned_ratio():
    methods = list(METHOD_CONFIGS)
    config = apply_overrides(load_config("smoke"), [f"methods={methods}"])
    points = expand_points(config)
    assert points[0] == Point(DENSE_METHOD, 1.0)
    assert [p for p in points if p.is_dense] == [points[0]]
    pruned = [(p.method, p.target_flops_ratio) for p in points[1:]]
    assert pruned == [(m, r) for m in methods for r in (0.6, 0.3)]


def test_cross_product_size_and_grouping():
    config = apply_overrides(load_config("smoke"), ["batch_sizes=[1, 4]", "seq_lens=[8, 16]"])
    trials = expand_trials(config)
    points = expand_points(config)
    assert len(trials) == len(points) * len(config.runtimes) * 2 * 2
    groups = trials_by_point(trials)
    assert list(groups) == points
    assert all(len(group) == len(config.runtimes) * 4 for group in groups.values())


def test_without_ratio_one_there_is_no_dense_point():
    config = apply_overrides(load_config("smoke"), ["flops_ratios=[0.5]"])
    assert [p.key for p in expand_points(config)] == ["kprune@0.5"]


def test_keys_are_unique_stable_and_match_stored_measurements():
    config = load_config("smoke")
    trials = expand_trials(config)
    keys = [t.key for t in trials]
    assert len(set(keys)) == len(keys)
    assert keys == [t.key for t in expand_trials(load_config("smoke"))]
    assert trials[0].key == "dense@1.0|torch/eager/cpu/float32|b2|s16"
    pruned = next(t for t in trials if not t.point.is_dense)
    assert pruned.dense_key in keys
    row = measurement(0.6, "torch")
    assert measurement_key(row) == "kprune@0.6|torch/eager/cpu/float32|b1|s128"


def test_threads_are_not_part_of_the_key():
    one = expand_trials(load_config("smoke"))
    two = expand_trials(apply_overrides(load_config("smoke"), ["runtimes.threads=2"]))
    assert [t.key for t in one] == [t.key for t in two]


def test_onnx_is_needed_only_for_onnxruntime_trials():
    trials = expand_trials(load_config("smoke"))
    config = load_config("smoke")
    assert artifacts_needed(config, trials) == {("onnx", "float32")}
    torch_only = [t for t in trials if t.runtime.backend == "torch"]
    assert artifacts_needed(config, torch_only) == set()
    exporting = dataclasses.replace(config, export=True)
    assert artifacts_needed(exporting, torch_only) == {("onnx", "float32")}


def test_describe_plan_counts_points_and_trials():
    text = describe_plan(load_config("smoke"))
    assert "3 points, 6 trials" in text and "kprune@0.3" in text
