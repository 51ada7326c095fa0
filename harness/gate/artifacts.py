"""Where a stored run's models are, and how the gate loads one trial's model from them:
`bench_artifacts/<machine>/<run-stem>/<method>_<ratio>/` holds `model.onnx` (and its fp16 and
fused twins, each with a manifest) and, when the sweep timed in isolated children, `module/`
(the pruned PyTorch model, `kprune.save_pruned`).

Loads files only; a missing artifact is an `ArtifactMissingError` that says how to get it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.results.keys import point_key
from harness.results.records import BenchmarkRun, Measurement
from harness.runtimes.base import RuntimeSpec

ONNX_FILES = {
    ("onnx", "float32"): "model.onnx",
    ("onnx", "float16"): "model_fp16.onnx",
    ("onnx-fused", "float32"): "model_fused.onnx",
    ("onnx-fused", "float16"): "model_fused_fp16.onnx",
}
MODULE_FOLDER = "module"
MANIFEST = "model.manifest.json"


class ArtifactMissingError(UsageError):
    """A stored run's model file the gate needs is not there."""


def artifacts_folder(run_path: Path, run: BenchmarkRun, root: Path | None = None) -> Path:
    """`<root>/<machine>/<run-stem>`; root defaults to the `bench_artifacts` folder beside the
    run's results folder (`bench_results/<machine>/<stem>.json`), as the sweep writes it."""
    machine = str(run.environment.get("machine_id") or run_path.parent.name)
    base = root if root is not None else run_path.parent.parent.parent / "bench_artifacts"
    return base / machine / run_path.stem


def point_folder(folder: Path, method: str, target_flops_ratio: float) -> Path:
    return folder / point_key(method, target_flops_ratio).replace("@", "_")


def runtime_of(m: Measurement) -> RuntimeSpec:
    """The runtime a stored measurement was timed on."""
    return RuntimeSpec(m.backend, m.device, m.dtype, m.variant, m.threads)  # type: ignore[arg-type]


def artifact_path(point_dir: Path, spec: RuntimeSpec) -> Path:
    """The file (or `module/` folder) `spec` loads from a point's folder; it must exist."""
    if spec.artifact == "module":
        path = point_dir / MODULE_FOLDER
        how = "sweep with `isolate_backends = true` (the `ci` preset does), which saves it"
    else:
        path = point_dir / ONNX_FILES[(spec.artifact, spec.dtype)]
        how = "re-run the sweep that wrote this run, or pass --artifacts with its folder"
    if not path.exists():
        raise ArtifactMissingError(f"{path} is missing ({spec.name} loads it); {how}")
    return path


def load_artifact(path: Path, spec: RuntimeSpec) -> Any:
    """What `load_runtime(spec, ...)` takes: the pruned module, or the graph's path."""
    if spec.artifact == "module":
        from kprune import load_pruned

        return load_pruned(path)
    return path


def input_layout(point_dir: Path, model: Any = None) -> tuple[tuple[str, ...], int]:
    """(input names, vocab size) of a point's model: from its manifest, else the module."""
    manifest = point_dir / MANIFEST
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if "input_names" in data and "vocab_size" in data:
            return tuple(data["input_names"]), int(data["vocab_size"])
    if model is None:
        raise ArtifactMissingError(f"{manifest} is missing: the model's inputs are unknown")
    from harness.export.io_names import model_input_names

    return model_input_names(model.config), int(model.config.vocab_size)
