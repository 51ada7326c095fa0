"""Split a sweep's plan into shards for many hosts (pure): deterministic, cost-balanced sets of
prune points, each shard also carrying the dense point so every speedup's denominator is timed
on the shard's own device, in its own process. No files, devices or clocks.

The same config gives the same shards on every host: the assignment depends on the plan only
(never on the config's name, the host or the order processes start).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.config.load import config_to_dict
from harness.config.schema import BenchmarkConfig
from harness.errors import UsageError
from harness.sweep.plan import expand_points, expand_trials, trials_by_point
from harness.sweep.types import Point

log = logging.getLogger(__name__)

SHARD_ENV_INDEX = ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX")
"""Where `--shard-from-env` reads the shard index: a Slurm array task, a Kubernetes indexed Job."""


class ShardSpecError(UsageError):
    """A shard written as text or read from the environment is not a valid `i/n`."""


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (0-based): its pruned points, and the dense point when swept."""

    index: int
    count: int
    points: tuple[Point, ...]
    cost: float
    """Estimated relative cost (see `point_cost`), dense point included."""

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    def config_name(self, name: str) -> str:
        """The shard's own run-file name: `smoke-shard1of3` (so `--resume` finds this shard's
        file, never another shard's, even in one results folder)."""
        return f"{name}-shard{self.index}of{self.count}"


def point_cost(config: BenchmarkConfig, point: Point) -> float:
    """Relative cost of timing a point: sum over its trials of batch x seq x (kept FLOPs ratio,
    plus 1.0 for the dense twin timed beside each pruned trial when `interleave_dense`)."""
    twin = 1.0 if config.interleave_dense and not point.is_dense else 0.0
    trials = [t for t in expand_trials(config) if t.point == point]
    return sum(t.batch_size * t.seq_len * (point.target_flops_ratio + twin) for t in trials)


def assign_shards(config: BenchmarkConfig, count: int) -> list[Shard]:
    """`count` shards: pruned points placed largest-cost first on the least-loaded shard (ties:
    plan order, then lowest index), and in every shard the dense point of each seed it holds
    (of every seed when it holds no pruned point), in plan order. Loads differ by at most the
    largest single point's cost."""
    check_count(count)
    points = expand_points(config)
    dense = [p for p in points if p.is_dense]
    pruned = [p for p in points if not p.is_dense]
    loads = [0.0] * count
    chosen: list[list[Point]] = [[] for _ in range(count)]
    order = {p: i for i, p in enumerate(pruned)}
    costs = {p: point_cost(config, p) for p in pruned}
    for point in sorted(pruned, key=lambda p: (-costs[p], order[p])):
        target = min(range(count), key=lambda i: (loads[i], i))
        loads[target] += costs[point]
        chosen[target].append(point)
    plan = {p: i for i, p in enumerate(points)}
    shards = []
    for index, mine in enumerate(chosen):
        seeds = {p.seed for p in mine}
        twins = [d for d in dense if d.seed in seeds or not mine]
        cost = loads[index] + sum(point_cost(config, d) for d in twins)
        shards.append(Shard(index, count, tuple(sorted(twins + mine, key=plan.__getitem__)), cost))
    return shards


def check_count(count: int) -> None:
    if count < 1:
        raise ShardSpecError(f"the shard count must be >= 1, got {count}")


def parse_shard(text: str) -> tuple[int, int]:
    """`"1/3"` -> (1, 3); the index is 0-based (a Slurm `--array=0-2` task id)."""
    index_text, slash, count_text = text.partition("/")
    try:
        index, count = int(index_text), int(count_text)
    except ValueError:
        index = count = -1
    if not slash or count < 1 or not 0 <= index < count:
        raise ShardSpecError(
            f"--shard {text!r} is not INDEX/COUNT with 0 <= INDEX < COUNT (e.g. --shard 0/3)"
        )
    return index, count


def shard_from_env(env: Mapping[str, str], count: int | None) -> tuple[int, int]:
    """(index, count) from a Slurm array task (`SLURM_ARRAY_TASK_ID` minus
    `SLURM_ARRAY_TASK_MIN`, count `SLURM_ARRAY_TASK_COUNT`) or a Kubernetes indexed Job
    (`JOB_COMPLETION_INDEX`, count from `count`); `count` overrides the environment's count."""
    if "SLURM_ARRAY_TASK_ID" in env:
        index = _env_int(env, "SLURM_ARRAY_TASK_ID") - _env_int(env, "SLURM_ARRAY_TASK_MIN", 0)
        found = count or _env_int(env, "SLURM_ARRAY_TASK_COUNT", 0) or None
    elif "JOB_COMPLETION_INDEX" in env:
        index, found = _env_int(env, "JOB_COMPLETION_INDEX"), count
    else:
        raise ShardSpecError(
            f"--shard-from-env: none of {', '.join(SHARD_ENV_INDEX)} is set; run inside a Slurm "
            "array or a Kubernetes indexed Job, or pass --shard INDEX/COUNT"
        )
    if found is None:
        raise ShardSpecError(
            "--shard-from-env: the environment gives the index but not the count; pass "
            "--shards COUNT (the Job's completions)"
        )
    return parse_shard(f"{index}/{found}")


def _env_int(env: Mapping[str, str], name: str, default: int | None = None) -> int:
    text = env.get(name)
    if text is None and default is not None:
        return default
    try:
        return int(str(text))
    except ValueError:
        raise ShardSpecError(f"{name}={text!r} is not an integer") from None


def plan_digest(config: BenchmarkConfig) -> str:
    """A hash of everything that decides what is measured (the config less its name): shards
    of one plan carry the same digest, and `merge` refuses shards of different plans."""
    data = {k: v for k, v in config_to_dict(config).items() if k != "name"}
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def shard_record(config: BenchmarkConfig, shard: Shard) -> dict[str, Any]:
    """What a shard's run file records about the plan (its `environment["shard"]`): enough for
    `merge` to list missing keys and the shard to rerun, even when whole shards are absent."""
    everything = assign_shards(config, shard.count)
    if all(p.is_dense for p in shard.points):
        log.warning("shard %s has no pruned point: it times only the dense point", shard.label)
    return {
        "index": shard.index,
        "count": shard.count,
        "config_name": config.name,
        "plan_digest": plan_digest(config),
        "points": [p.key for p in shard.points],
        "assignment": [[p.key for p in s.points] for s in everything],
        "plan_trial_keys": [t.key for t in expand_trials(config)],
    }


def shard_config(config: BenchmarkConfig, shard: Shard) -> BenchmarkConfig:
    """The config a shard runs: the same plan under the shard's own run-file name."""
    return dataclasses.replace(config, name=shard.config_name(config.name))


def describe_shards(config: BenchmarkConfig, count: int) -> str:
    """What `kprune-bench plan CFG --shards n` prints: each shard's points, trials and cost."""
    shards = assign_shards(config, count)
    total = sum(s.cost for s in shards) or 1.0
    groups = trials_by_point(expand_trials(config))
    head = f"config {config.name}: {len(groups)} points in {count} shards"
    lines = [f"{head} (plan {plan_digest(config)})"]
    for shard in shards:
        trials = sum(len(groups[p]) for p in shard.points)
        keys = ", ".join(p.key for p in shard.points)
        share = 100.0 * shard.cost / total
        lines.append(f"  shard {shard.label}: {trials} trials, cost {share:4.1f}%: {keys}")
    return "\n".join(lines)
