"""The smoke sweep on every GPU runtime (pytest -m gpu on the device machine): every row timed,
fp16 rows carrying fp16 accuracy, padding and machine state recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.load import apply_overrides, load_config
from harness.sweep.run import run_benchmark

GPU_RUNTIMES = (
    "runtimes=["
    + ",".join(
        f'{{backend="{b}",device="cuda",dtype="{d}",variant="{v}"}}'
        for b, v in (("torch", "eager"), ("torch", "cuda_graph"), ("onnxruntime", "iobinding"))
        + (("onnxruntime", "cuda_graph"),)
        for d in ("float32", "float16")
    )
    + "]"
)


@pytest.mark.gpu
def test_smoke_sweep_on_every_gpu_runtime(tmp_path: Path) -> None:
    overrides = [GPU_RUNTIMES, "task.device='cuda'", "flops_ratios=[1.0, 0.6]"]
    config = apply_overrides(load_config("smoke"), overrides)
    run = run_benchmark(config, tmp_path / "results", progress=False)
    assert [m.error for m in run.measurements if m.error] == []
    assert len(run.measurements) == 2 * 8
    sources = {(m.backend, m.dtype): m.metric_source for m in run.measurements}
    assert sources[("onnxruntime", "float16")] == "onnxruntime-cuda-float16-iobinding"
    assert sources[("torch", "float16")] == "torch-cuda-float16-eager"
    points = {p.method: p for p in run.points}
    assert len(points["kprune"].metrics_by_runtime) >= 5
    assert all(m.state_before["gpus"] and m.pad_last_rows == 1 for m in run.measurements)
