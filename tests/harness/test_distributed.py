"""Past one machine, end to end on the smoke preset: three shards run one after another and
merged give the keys of a one-shot run; a shard killed with SIGKILL and rerun loses no finished
point; the Ray executor (a local cluster with one fake GPU) never overlaps two timing tasks and
measures the keys the local executor does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.config.load import apply_overrides, load_config
from harness.results.frame import run_files
from harness.results.keys import measurement_key
from harness.results.records import read_run
from harness.sweep.plan import expand_trials
from harness.sweep.run import run_benchmark

pytestmark = pytest.mark.slow

QUIET = ["-q", "--no-progress"]


def _keys(run) -> set[str]:
    return {measurement_key(m) for m in run.measurements}


def _shard_files(out: Path) -> dict[str, Path]:
    return {read_run(p).config["name"]: p for p in run_files([out])}


def test_three_shards_merged_give_the_keys_of_a_one_shot_run(tmp_path: Path):
    shards, merged = tmp_path / "shards", tmp_path / "merged"
    for index in range(3):
        argv = [*QUIET, "sweep", "smoke", "--shard", f"{index}/3", "--out", str(shards)]
        assert main([*argv, "--no-plots"]) == 0
    files = _shard_files(shards)
    assert sorted(files) == [f"smoke-shard{i}of3" for i in range(3)]
    for path in files.values():  # each shard timed its own dense point
        assert any(m.method == "dense" and m.error is None for m in read_run(path).measurements)
    assert main([*QUIET, "merge", str(shards), "--out", str(merged)]) == 0
    (merged_file,) = run_files([merged])
    run = read_run(merged_file)
    one_shot = run_benchmark(load_config("smoke"), tmp_path / "one", progress=False)
    assert _keys(run) == _keys(one_shot) == {t.key for t in expand_trials(load_config("smoke"))}
    assert len(run.measurements) == len(one_shot.measurements)  # one dense row: one device
    assert run.config["name"] == "smoke"
    assert {m.fingerprint for m in run.measurements} <= set(run.environment["fingerprints"])
    # merging again (the merged file among the inputs) changes nothing and writes nothing
    assert main([*QUIET, "merge", str(shards), str(merged), "--out", str(merged)]) == 0
    assert run_files([merged]) == [merged_file]


def _sweep_process(out: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "harness", *QUIET, "sweep", "smoke", "--shard", "0/3"]
    slow = ["--set", "timing.min_seconds=1.0", "--set", "timing.max_seconds=2.0"]
    argv += [*slow, "--out", str(out), "--no-plots", *extra]
    with log.open("ab") as stderr:  # the child holds its own copy
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr)


def _stored_points(out: Path) -> list:
    files = run_files([out]) if out.exists() else []
    return read_run(files[0]).points if files else []


def test_a_shard_killed_with_sigkill_and_rerun_loses_no_finished_point(tmp_path: Path):
    out = tmp_path / "results"
    log = tmp_path / "stderr.txt"
    child = _sweep_process(out, log)
    deadline = time.monotonic() + 600
    while not _stored_points(out) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child.poll() is None, "the shard ended before its first point was stored"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    (path,) = run_files([out])
    before = read_run(path)
    assert [p.method for p in before.points] == ["dense"]  # killed while kprune@0.6 ran
    rerun = _sweep_process(out, log, "--resume")
    assert rerun.wait(timeout=600) == 0, log.read_text()
    after = read_run(path)  # the same file, continued
    assert all(m in after.measurements for m in before.measurements)  # kept as they were
    config = apply_overrides(load_config("smoke"), [])
    shard_keys = {
        t.key for t in expand_trials(config) if t.point.key in ("dense@1.0", "kprune@0.6")
    }
    assert _keys(after) == shard_keys


@pytest.fixture
def ray_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A local Ray cluster on this machine: 2 CPUs, one fake GPU, one CPU timing slot; Ray's
    files under a temporary HOME and temp dir; shut down afterwards."""
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    # a short path: Ray's unix sockets live under it (at most 107 characters)
    with tempfile.TemporaryDirectory(prefix="ray", dir="/tmp") as temp_dir:
        ray.init(
            num_cpus=2,
            num_gpus=1,
            resources={"timing_slot": 1},
            include_dashboard=False,
            _temp_dir=temp_dir,
            log_to_driver=False,
        )
        try:
            yield ray
        finally:
            ray.shutdown()


def test_the_ray_executor_never_overlaps_two_timings_and_measures_the_local_keys(
    tmp_path: Path, ray_cluster
):
    config = load_config("smoke")
    run = run_benchmark(config, tmp_path / "ray", progress=False, executor="ray")
    local = run_benchmark(config, tmp_path / "local", progress=False)
    assert _keys(run) == _keys(local)
    assert not any(m.error for m in run.measurements)
    fingerprints = run.environment["fingerprints"]
    assert {m.fingerprint for m in run.measurements} <= set(fingerprints)
    tasks = sorted((f["ray_task"] for f in fingerprints.values()), key=lambda t: t["start_unix_s"])
    assert len(tasks) == 3  # one timing task per point, each in its own fresh process
    assert len({t["pid"] for t in tasks}) == 3
    for earlier, later in zip(tasks, tasks[1:]):
        assert earlier["end_unix_s"] <= later["start_unix_s"], (earlier, later)
    assert read_run(run_files([tmp_path / "ray"])[0]) == run  # stored by the driver
