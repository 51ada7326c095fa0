"""Executors: names checked up front; Ray absent or a setting it cannot honour is a usage error
naming the way out; each timing task holds its device whole (a GPU, or a whole CPU node) in a
fresh process, and evaluating prune tasks never ask for a whole GPU."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from harness.config.load import apply_overrides, load_config
from harness.errors import UsageError
from harness.sweep import executors
from harness.sweep.executors.ray_executor import (
    TIMING_SLOT,
    _outcome,
    fingerprint_key,
    prune_resources,
    timing_resources,
)

CUDA = ['runtimes=[{backend = "torch", device = "cuda"}]']
NODES = [
    {"Alive": True, "Resources": {"CPU": 16.0, TIMING_SLOT: 1.0}},
    {"Alive": True, "Resources": {"CPU": 8.0, TIMING_SLOT: 1.0}},
    {"Alive": True, "Resources": {"CPU": 2.0}},  # no slot: never times
    {"Alive": False, "Resources": {"CPU": 1.0, TIMING_SLOT: 1.0}},
]


def test_an_unknown_executor_is_a_usage_error():
    with pytest.raises(UsageError, match="choose one of"):
        executors.check("dask", load_config("smoke"))


def test_ray_absent_names_the_extra(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails
    with pytest.raises(UsageError, match=r"kprune-bench\[ray\]"):
        executors.check("ray", load_config("smoke"))


def test_ray_refuses_a_dense_reference_outside_the_timing_task():
    pytest.importorskip("ray")
    config = apply_overrides(load_config("smoke"), ["interleave_dense=false"])
    with pytest.raises(UsageError, match="interleave_dense=true"):
        executors.check("ray", config)


def test_cpu_timing_holds_a_whole_node_in_a_fresh_process():
    options = timing_resources(load_config("smoke"), NODES)
    assert options == {"max_calls": 1, "num_cpus": 8.0, "resources": {TIMING_SLOT: 1}}
    with pytest.raises(UsageError, match="ray start --resources"):
        timing_resources(load_config("smoke"), NODES[2:])


def test_gpu_timing_holds_a_whole_gpu_and_evaluation_never_does():
    config = apply_overrides(load_config("smoke"), CUDA)
    assert timing_resources(config, []) == {"max_calls": 1, "num_cpus": 1, "num_gpus": 1}
    assert prune_resources(load_config("smoke")) == {"num_cpus": 1, "num_gpus": 0}
    on_gpu = apply_overrides(load_config("smoke"), ["task.device=cuda"])
    assert 0 < prune_resources(on_gpu)["num_gpus"] < 1


def test_fingerprint_keys_follow_content():
    assert fingerprint_key({"a": 1, "b": 2}) == fingerprint_key({"b": 2, "a": 1})
    assert fingerprint_key({"a": 1}) != fingerprint_key({"a": 2})


class _TaskFailed(Exception):
    """Stands for Ray's wrapper of a task's exception (`RayTaskError`, with `.cause`)."""

    def __init__(self, cause: BaseException | None) -> None:
        super().__init__("task failed")
        self.cause = cause


def _fake_ray(error: Exception) -> SimpleNamespace:
    def get(ref):
        raise error

    return SimpleNamespace(get=get, exceptions=SimpleNamespace(RayError=_TaskFailed))


def test_a_failed_task_gives_back_its_own_exception():
    injected = ValueError("injected")
    assert _outcome(_fake_ray(_TaskFailed(injected)), "ref", None, []) is injected
    crashed = _TaskFailed(None)  # a worker that died has no cause: Ray's error itself
    assert _outcome(_fake_ray(crashed), "ref", None, []) is crashed
