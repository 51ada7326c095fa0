"""The device check's tools, without a GPU: the dry run of tools/gpu_run.sh, usage errors, the
probe's one-line stop, the wheel staged in pieces and rebuilt against its RECORD, and the
running summary with its CIs and targets."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from harness.measure.stats import summarize
from harness.results.records import BenchmarkRun, Measurement, write_run

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "gpu_run.sh"


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(
    *args: str, work: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": sys.executable, "KPRUNE_GPU_WORK": str(work)}
    env.update(extra_env or {})
    return subprocess.run(
        ["bash", str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.slow  # loads the configs (imports torch) twice per mode
@pytest.mark.parametrize("mode", ["quick", "full"])
def test_dry_run_prints_every_step_and_touches_nothing(mode, tmp_path) -> None:
    work, out = tmp_path / "work", tmp_path / "out"
    done = _run("--dry-run", mode, str(out), work=work)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    for step in ("install:", "PYTHONPATH=", "probe (at most", "pytest-gpu", "pack into"):
        assert step in text
    assert "-m gpu" in text and "gpu-replay" in text and "--keep-going" in text
    if mode == "quick":
        assert text.count("3 points, 48 trials") == 2  # replay and BERT-base shape
        assert "sweep-replay" in text and "sweep-bert-base-shape" in text
        assert "onnxruntime-cuda-float16-cuda_graph" in text and "batch sizes: [1, 32]" in text
    else:
        assert "7 points, 224 trials" in text and "--resume" in text
    assert not work.exists() and not out.exists()


@pytest.mark.parametrize(
    "args", [(), ("quick",), ("fast", "out"), ("quick", "out", "extra"), ("--bogus", "quick", "o")]
)
def test_bad_usage_exits_2_with_the_usage_line(args, tmp_path) -> None:
    done = _run(*args, work=tmp_path / "work")
    assert done.returncode == 2 and "usage: tools/gpu_run.sh" in done.stderr


@pytest.mark.slow  # imports torch in a fresh process
@pytest.mark.skipif(
    importlib.util.find_spec("torch") is not None and __import__("torch").cuda.is_available(),
    reason="this machine has CUDA",
)
def test_probe_stops_with_one_line_without_cuda(tmp_path) -> None:
    probe = tmp_path / "probe.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gpu_probe.py"), str(probe)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 3
    assert done.stdout.splitlines() == [done.stdout.strip()]
    assert done.stdout.startswith("STOP: torch") and "no CUDA device" in done.stdout
    assert json.loads(probe.read_text())["cuda_available"] is False


def _wheel(path: Path, payload: bytes) -> Path:
    info = "pkg-1.0.dist-info"
    files = {
        "pkg/__init__.py": b"X = 1\n",
        "pkg/lib.so": payload,
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n",
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }

    def digest(data: bytes) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    record = "".join(f"{n},sha256={digest(d)},{len(d)}\n" for n, d in files.items())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        wheel.writestr("pkg/", b"")  # a folder entry, as real wheels have (RECORD lists none)
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr("pkg-1.0.dist-info/RECORD", record + "pkg-1.0.dist-info/RECORD,,\n")
    return path


@pytest.mark.skipif(shutil.which("xz") is None, reason="staging needs the xz program")
def test_a_staged_wheel_is_rebuilt_from_its_pieces_and_checked(tmp_path) -> None:
    wheel_tool = _tool("gpu_wheel")
    wheel = _wheel(tmp_path / "pkg-1.0-py3-none-any.whl", os.urandom(3 * 2**20))
    folders = wheel_tool.stage(wheel, tmp_path / "stage", part_mib=1)
    assert [f.name for f in folders] == ["p1", "p2", "p3", "p4"]  # 3 MiB of noise, 1 MiB pieces
    name = (folders[0] / "NAME").read_text().strip()
    digest = (folders[0] / "SHA256").read_text().strip()
    assert name == "pkg-1.0-py3-none-any.tar.xz" and not (tmp_path / "stage" / name).exists()
    archive = tmp_path / name
    archive.write_bytes(b"".join((f / f"part.{i:02d}").read_bytes() for i, f in enumerate(folders)))
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == digest
    rebuilt = wheel_tool.rebuild(archive, tmp_path / "wheel")
    with zipfile.ZipFile(rebuilt) as new, zipfile.ZipFile(wheel) as old:
        files = {n: old.read(n) for n in old.namelist() if not n.endswith("/")}
        assert {n: new.read(n) for n in new.namelist()} == files
    tampered = tmp_path / "tampered.whl"
    with zipfile.ZipFile(wheel) as old, zipfile.ZipFile(tampered, "w") as new:
        for item in old.namelist():
            new.writestr(item, b"changed" if item == "pkg/lib.so" else old.read(item))
    bad = wheel_tool.stage(tampered, tmp_path / "bad", part_mib=64)
    bad_archive = tmp_path / "bad.tar.xz"
    bad_archive.write_bytes((bad[0] / "part.00").read_bytes())
    with pytest.raises(SystemExit, match="RECORD.*pkg/lib.so"):
        wheel_tool.rebuild(bad_archive, tmp_path / "bad-wheel")


def _row(ratio: float, backend: str, variant: str, batch: int, median_ms: float) -> Measurement:
    samples = [median_ms] * 5
    speedup = None if ratio == 1.0 else 1.0 / ratio * 0.95
    return Measurement(
        method="dense" if ratio == 1.0 else "kprune",
        target_flops_ratio=ratio,
        achieved_flops_ratio=ratio,
        params=100,
        backend=backend,
        variant=variant,
        device="cuda",
        dtype="float32",
        batch_size=batch,
        seq_len=128,
        latency=summarize(samples),
        samples_ms=samples,
        speedup_vs_dense=speedup,
        speedup_ci95_low=speedup and speedup * 0.9,
        speedup_ci95_high=speedup and speedup * 1.1,
        ideal_speedup=1.0 / ratio,
        metric_name="accuracy",
        metric_value=0.8,
        metric_source="replayed from 0002_4577d62_default.json (run x)",
    )


def test_summary_shows_cis_predicted_speedups_and_targets(tmp_path) -> None:
    rows = [
        _row(0.4, "torch", "eager", 1, 4.0),
        _row(0.4, "onnxruntime", "iobinding", 1, 2.0),
        _row(0.4, "onnxruntime", "cuda_graph", 1, 1.0),
        _row(0.4, "torch", "eager", 32, 9.0),
    ]
    failed = dataclasses.replace(rows[0], latency=None, error="PlacementError: 2 Memcpy")
    run = BenchmarkRun(config={"name": "q"}, environment={}, measurements=[*rows, failed])
    work = tmp_path / "work"
    write_run(run, work / "results")
    (work / "steps.log").write_text("probe\tok\t12\tpython tools/gpu_probe.py\n")
    text = _tool("gpu_report").summary(work, "quick")
    assert "| probe | ok | 12 |" in text and "(no probe yet)" in text
    row = "| 0.4 (0.400) | torch-float32-eager | 32 | 9 [9, 9] | 2.38x [2.14, 2.61] | 2.50x |"
    assert row in text
    assert "| 0.95 | 0.800 (replayed from 0002_4577d62_default.json (run x)) |" in text
    assert "error: PlacementError: 2 Memcpy" in text
    assert "batch 32: 0.95 (meets 0.9)" in text
    assert "torch eager / ORT iobinding = 2.00x (target >= 1.3x)" in text
    assert "torch eager / ORT cuda_graph = 4.00x (target >= 2.0x)" in text


NO_CUDA = importlib.util.find_spec("torch") is None or not __import__("torch").cuda.is_available()


@pytest.mark.slow  # pip installs a wheel and imports torch in fresh processes
@pytest.mark.skipif(shutil.which("xz") is None or not NO_CUDA, reason="needs xz and no CUDA")
def test_a_real_run_installs_the_staged_wheel_then_stops_at_the_probe(tmp_path) -> None:
    wheel = _wheel(tmp_path / "pkg-1.0-py3-none-any.whl", os.urandom(2**20))
    parts = tmp_path / "parts"
    _tool("gpu_wheel").stage(wheel, parts, part_mib=1)
    work, out = tmp_path / "work", tmp_path / "out"
    env = {"KPRUNE_GPU_PARTS": str(parts)}
    done = _run("quick", str(out), work=work, extra_env=env)
    assert done.returncode == 3
    assert done.stdout.count("STOP:") == 1 and "sees no CUDA device" in done.stdout
    assert (work / "ortgpu" / "pkg" / "lib.so").read_bytes() == zipfile.ZipFile(wheel).read(
        "pkg/lib.so"
    )
    assert sorted(p.name for p in out.iterdir()) == ["console.log", "results.tar.gz", "summary.md"]
    summary = (out / "summary.md").read_text()
    assert "| probe | exit 3 |" in summary and "| stop | stopped |" in summary
    # a damaged piece is named, and nothing is installed from it
    (parts / "p2" / "part.01").write_bytes(b"damaged")
    done = _run("quick", str(tmp_path / "out2"), work=tmp_path / "work2", extra_env=env)
    assert done.returncode == 3 and "STOP: the sha256" in done.stdout
    assert not (tmp_path / "work2" / "ortgpu").exists()
