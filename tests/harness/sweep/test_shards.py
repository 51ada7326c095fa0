"""Shards of a plan: disjoint, covering, deterministic, balanced, the dense point in each; the
shard index from the command line or a Slurm / Kubernetes environment; a resumed shard skips its
finished keys, retries its errored ones and never runs another shard's points."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.config.load import apply_overrides, load_config
from harness.results.session import RunSession
from harness.sweep.plan import expand_points
from harness.sweep.rows import failed_point
from harness.sweep.run import _Sweep
from harness.sweep.shards import (
    ShardSpecError,
    assign_shards,
    describe_shards,
    parse_shard,
    point_cost,
    shard_config,
    shard_from_env,
    shard_record,
)
from tests.harness.handmade_runs import measurement, point

WIDE = [
    "methods=['kprune', 'uniform', 'random']",
    "flops_ratios=[1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]",
    "batch_sizes=[1, 8, 32]",
    "seq_lens=[64, 128]",
]

PLAIN = ["batch_sizes=[1]", "seq_lens=[128]"]
"""The shape of the hand-made rows."""


def _wide():
    return apply_overrides(load_config("smoke"), WIDE)


@pytest.mark.parametrize("count", [1, 2, 3, 5, 7, 27, 40])
def test_shards_are_disjoint_cover_the_plan_and_each_carries_the_dense_point(count: int):
    config = _wide()
    shards = assign_shards(config, count)
    assert [s.index for s in shards] == list(range(count))
    pruned = [p for s in shards for p in s.points if not p.is_dense]
    assert len(pruned) == len(set(pruned))  # disjoint
    assert set(pruned) == {p for p in expand_points(config) if not p.is_dense}  # covering
    assert all(s.points[0].is_dense for s in shards)  # the dense point, in every shard


@pytest.mark.parametrize("count", [2, 3, 4, 6])
def test_shards_are_balanced_within_one_point(count: int):
    config = _wide()
    shards = assign_shards(config, count)
    largest = max(point_cost(config, p) for p in expand_points(config) if not p.is_dense)
    costs = [s.cost for s in shards]
    assert max(costs) - min(costs) <= largest
    # the dense point is timed in every shard, at the same cost in each
    dense = point_cost(config, expand_points(config)[0])
    assert sum(costs) == pytest.approx(
        sum(point_cost(config, p) for p in expand_points(config)) + (count - 1) * dense
    )


def test_the_cost_grows_with_kept_flops_shapes_and_runtimes():
    config = _wide()
    points = {p.key: p for p in expand_points(config)}
    assert point_cost(config, points["kprune@0.9"]) > point_cost(config, points["kprune@0.1"])
    bigger = apply_overrides(config, ["seq_lens=[64, 128, 256]"])
    assert point_cost(bigger, points["kprune@0.5"]) > point_cost(config, points["kprune@0.5"])
    one = apply_overrides(config, ['runtimes=[{backend = "torch", threads = 1}]'])
    assert point_cost(one, points["kprune@0.5"]) == pytest.approx(
        point_cost(config, points["kprune@0.5"]) / 2
    )


def test_the_same_plan_gives_the_same_shards_whatever_its_name():
    config = _wide()
    shards = assign_shards(config, 4)
    assert assign_shards(config, 4) == shards
    renamed = dataclasses.replace(config, name="elsewhere", description="other words")
    assert [s.points for s in assign_shards(renamed, 4)] == [s.points for s in shards]
    record = shard_record(config, shards[2])
    assert record["points"] == [p.key for p in shards[2].points]
    assert (
        record["plan_digest"]
        == shard_record(shard_config(config, shards[2]), shards[2])["plan_digest"]
    )
    text = describe_shards(config, 4)
    assert all(f"shard {i}/4" in text for i in range(4))


@pytest.mark.parametrize(("text", "expected"), [("0/3", (0, 3)), ("2/3", (2, 3)), ("0/1", (0, 1))])
def test_parse_shard(text: str, expected: tuple[int, int]):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["3/3", "-1/3", "1", "a/b", "1/0", "1/3/4", ""])
def test_a_bad_shard_names_the_form(text: str):
    with pytest.raises(ShardSpecError, match="INDEX/COUNT"):
        parse_shard(text)


def test_the_shard_from_a_slurm_array_or_a_kubernetes_indexed_job():
    slurm = {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"}
    assert shard_from_env(slurm, None) == (2, 3)  # --array=1-3
    assert shard_from_env({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "4"}, None) == (
        0,
        4,
    )
    assert shard_from_env({"JOB_COMPLETION_INDEX": "4"}, 5) == (4, 5)
    with pytest.raises(ShardSpecError, match="--shards COUNT"):
        shard_from_env({"JOB_COMPLETION_INDEX": "4"}, None)
    with pytest.raises(ShardSpecError, match="SLURM_ARRAY_TASK_ID"):
        shard_from_env({}, 3)
    with pytest.raises(ShardSpecError, match="not an integer"):
        shard_from_env({"JOB_COMPLETION_INDEX": "x"}, 3)
    with pytest.raises(ShardSpecError, match="INDEX/COUNT"):
        shard_from_env({"JOB_COMPLETION_INDEX": "5"}, 5)


def test_a_resumed_shard_skips_finished_keys_and_retries_errored_ones(tmp_path: Path):
    config = apply_overrides(load_config("smoke"), [*PLAIN, "flops_ratios=[1.0, 0.8, 0.6, 0.3]"])
    shard = next(s for s in assign_shards(config, 2) if len(s.points) == 3)
    dense, first, second = shard.points
    session = RunSession.open({"name": "s"}, tmp_path, {"machine_id": "m"}, resume=False)
    with session:
        session.store_point(
            point(1.0), [measurement(1.0, "torch"), measurement(1.0, "onnxruntime")]
        )
        session.store_point(*_failed(config, first))
        sweep = _Sweep(shard_config(config, shard), session, tmp_path / "artifacts", False, False)
        sweep.points = frozenset(shard.points)
        pending = sweep._pending()
    assert list(pending) == [first, second]  # dense finished; the errored point is retried
    others = {p for s in assign_shards(config, 2) if s != shard for p in s.points if not p.is_dense}
    assert not others & set(pending)


def _failed(config, target):
    from harness.sweep.plan import expand_trials

    trials = [t for t in expand_trials(config) if t.point == target]
    return failed_point(target, trials, RuntimeError("injected"))
