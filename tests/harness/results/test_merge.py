"""`merge` on hand-made shard runs: commutative and idempotent; one dense row per device; every
row keeps its shard's fingerprint; missing and errored keys listed with the shard to rerun;
conflicting duplicates refused unless a preference says which wins; no speedup across devices."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.results.devices import CrossDeviceSpeedupError, dense_row_for, row_device
from harness.results.frame import measurements_frame
from harness.results.keys import measurement_key
from harness.results.merge import MergeError, describe_merge, merge_runs, write_merged
from harness.results.merge_plan import parse_preference
from harness.results.records import BenchmarkRun, read_run
from tests.harness.handmade_runs import measurement, point

BACKENDS = ("torch", "onnxruntime")
SHARD_RATIOS = {0: [0.6], 1: [0.3], 2: []}
"""The plan: dense@1.0, kprune@0.6, kprune@0.3 in 3 shards (the dense point in each)."""


def _rows(ratio: float, dense_ms: float = 10.0) -> list:
    return [measurement(ratio, backend, dense_ms=dense_ms) for backend in BACKENDS]


PLAN_KEYS = [measurement_key(m) for r in (1.0, 0.6, 0.3) for m in _rows(r)]
ASSIGNMENT = [["dense@1.0", *(f"kprune@{r}" for r in SHARD_RATIOS[i])] for i in range(3)]


def shard_run(
    index: int,
    device: str = "m-a",
    dense_ms: float = 10.0,
    created: str | None = None,
    run_id: str | None = None,
    interleave: bool = True,
) -> BenchmarkRun:
    """Shard `index` of the plan timed on `device` (its dense rows included)."""
    ratios = [1.0, *SHARD_RATIOS[index]]
    shard = {
        "index": index,
        "count": 3,
        "config_name": "plan",
        "points": ASSIGNMENT[index],
        "assignment": ASSIGNMENT,
        "plan_trial_keys": PLAN_KEYS,
    }
    environment = {
        "machine_id": device,
        "commit": "abcdef0",
        "dirty": False,
        "timing_devices": {"cpu": device},
        "shard": shard,
    }
    return BenchmarkRun(
        run_id=run_id or f"run{index}{device}{dense_ms}",
        created_utc=created or f"2026-01-01T00:00:0{index}+00:00",
        config={"name": f"plan-shard{index}of3", "interleave_dense": interleave},
        environment=environment,
        points=[point(r) for r in ratios],
        measurements=[m for r in ratios for m in _rows(r, dense_ms)],
    )


def _keys(run: BenchmarkRun) -> list[str]:
    return [measurement_key(m) for m in run.measurements]


def test_merge_is_a_commutative_idempotent_union_of_the_plan():
    shards = [shard_run(i) for i in range(3)]
    result = merge_runs(shards)
    assert result.complete and result.missing == [] and result.errored == []
    assert _keys(result.run) == PLAN_KEYS  # plan order, each key once (same device)
    assert result.dropped_dense_repeats == 2 * len(BACKENDS)
    assert merge_runs(shards[::-1]).run == result.run
    assert merge_runs([shards[1], shards[0], shards[2]]).run == result.run
    assert merge_runs([result.run]).run == result.run
    assert merge_runs([result.run, shards[2], shards[0]]).run == result.run
    assert merge_runs(shards + shards).run == result.run
    assert result.run.config["name"] == "plan"


def test_every_row_keeps_its_shards_fingerprint():
    shards = [shard_run(i, device=f"m-{i}") for i in range(3)]
    run = merge_runs(shards).run
    fingerprints = run.environment["fingerprints"]
    assert set(fingerprints) == {s.run_id for s in shards}
    for row in run.measurements:
        assert fingerprints[row.fingerprint]["machine_id"] == row_device(run, row)
    assert {p.fingerprint for p in run.points} <= set(fingerprints)
    frame = measurements_frame([(None, run)])
    assert set(frame["machine_id"]) == {"m-0", "m-1", "m-2"}  # each row its own machine
    assert "env.fingerprints" not in " ".join(frame.columns)


def test_dense_rows_are_kept_once_per_device():
    shards = [shard_run(i, device=f"m-{i}", dense_ms=10.0 + i) for i in range(3)]
    run = merge_runs(shards).run
    dense = [m for m in run.measurements if m.method == "dense"]
    assert len(dense) == 3 * len(BACKENDS)
    assert {row_device(run, m) for m in dense} == {"m-0", "m-1", "m-2"}
    for row in run.measurements:
        if row.method != "dense":
            twin = dense_row_for(run, row)
            assert twin is not None and row_device(run, twin) == row_device(run, row)


def test_missing_shard_is_listed_with_the_shard_to_rerun():
    result = merge_runs([shard_run(0), shard_run(2)])
    assert not result.complete
    assert result.missing == [measurement_key(m) for m in _rows(0.3)]
    assert "rerun shard 1 with --resume" in describe_merge(result)


def test_errored_keys_are_listed_and_a_measured_rerun_wins():
    failed = shard_run(1, run_id="failed")
    rows = [
        dataclasses.replace(m, error="RuntimeError: x") if m.method != "dense" else m
        for m in failed.measurements
    ]
    failed = dataclasses.replace(failed, measurements=rows)
    result = merge_runs([shard_run(0), failed, shard_run(2)])
    assert result.errored == sorted(_keys_of(0.3)) and result.missing == []
    rerun = shard_run(1, run_id="rerun", created="2026-01-02T00:00:00+00:00")
    fixed = merge_runs([shard_run(0), failed, shard_run(2), rerun])
    assert fixed.complete and not any(m.error for m in fixed.run.measurements)


def test_conflicting_duplicates_are_refused_unless_a_preference_decides():
    first = shard_run(1, run_id="first", dense_ms=10.0)
    second = shard_run(1, run_id="second", dense_ms=12.0, created="2026-02-01T00:00:00+00:00")
    with pytest.raises(MergeError, match="--prefer newest"):
        merge_runs([shard_run(0), first, second])
    newest = merge_runs([shard_run(0), first, second], parse_preference("newest"))
    pruned = [
        m for m in newest.run.measurements if m.method == "kprune" and m.target_flops_ratio == 0.3
    ]
    assert {m.fingerprint for m in pruned} == {"second"}
    assert newest.resolved == sorted(_keys_of(0.3))  # the point records agree: no conflict
    by_id = merge_runs([shard_run(0), first, second], parse_preference("run:first"))
    assert {m.fingerprint for m in by_id.run.measurements if m.target_flops_ratio == 0.3} == {
        "first"
    }
    with pytest.raises(MergeError):  # both are shard 1: the preference names no single run
        merge_runs([first, second], parse_preference("shard:1"))
    assert (
        merge_runs([first, second], parse_preference("oldest")).run
        == merge_runs([second, first], parse_preference("oldest")).run
    )


def _keys_of(ratio: float) -> list[str]:
    return [measurement_key(m) for m in _rows(ratio)]


def test_a_speedup_across_devices_is_refused():
    # a shard whose pruned rows were timed by another process (a Ray worker on another node)
    # than its dense rows, with the dense twin not interleaved: the stored speedup divides two
    # devices' timings
    run = shard_run(0, interleave=False)
    worker = {"machine_id": "m-other", "timing_devices": {"cpu": "m-other"}}
    rows = [
        m if m.method == "dense" else dataclasses.replace(m, fingerprint="ray-w")
        for m in run.measurements
    ]
    environment = {**run.environment, "fingerprints": {"ray-w": worker}}
    crossed = dataclasses.replace(run, measurements=rows, environment=environment)
    with pytest.raises(CrossDeviceSpeedupError, match="m-other"):
        merge_runs([crossed])
    # pairing a pruned row with the only dense row, timed on another device, is refused too
    with pytest.raises(CrossDeviceSpeedupError, match="refused"):
        dense_row_for(crossed, rows[-1])


def test_a_device_without_its_dense_rows_is_listed_missing():
    lost = shard_run(1, device="m-b")
    lost = dataclasses.replace(
        lost, measurements=[m for m in lost.measurements if m.method != "dense"]
    )
    result = merge_runs([shard_run(0, device="m-a"), lost, shard_run(2, device="m-a")])
    assert result.missing == sorted(f"{key} on m-b" for key in _keys_of(1.0))


def test_runs_of_different_plans_or_shard_counts_are_refused():
    other = dataclasses.replace(shard_run(1), config={**shard_run(1).config, "seed": 1})
    with pytest.raises(MergeError, match="config differs in seed"):
        merge_runs([shard_run(0), other])
    env = {**shard_run(1).environment}
    env["shard"] = {**env["shard"], "count": 2}
    with pytest.raises(MergeError, match="split the plan differently"):
        merge_runs([shard_run(0), dataclasses.replace(shard_run(1), environment=env)])
    with pytest.raises(MergeError, match="nothing to merge"):
        merge_runs([])


@pytest.mark.parametrize("text", ["latest", "shard:x", "run:", "newest:1"])
def test_a_bad_preference_is_a_usage_error(text: str):
    with pytest.raises(UsageError, match="--prefer"):
        parse_preference(text)


def test_the_merged_file_reads_back_as_the_same_run(tmp_path: Path):
    result = merge_runs([shard_run(i, device=f"m-{i}") for i in range(3)])
    path = write_merged(result, tmp_path)
    assert read_run(path) == result.run
    assert path.parent.name.startswith("merged-")  # several machines: a folder of its own
