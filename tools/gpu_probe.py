"""Device probe before any CUDA number is taken: ``python tools/gpu_probe.py PROBE.json``.

Records versions (Python, torch and its CUDA/cuDNN, transformers, onnx, onnxruntime and where it
was imported from), the GPU, ORT's providers, and where ORT placed the nodes of a tiny exported
encoder on CUDA: the dynamic graph (shape arithmetic on the CPU is expected there) and its
fixed-shape twin (what a CUDA-graph row runs: every node must be on the GPU). Exits 3 with one
line starting "STOP:" when CUDA or ORT's CUDA provider is not active; the JSON is written either
way.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

EXIT_STOP = 3


class Stop(Exception):
    """The device cannot run the CUDA rows; the message is the one line printed."""


def _version(*names: str) -> str | None:
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _torch_facts(facts: dict[str, Any]) -> None:
    import torch

    facts["torch"] = torch.__version__
    facts["torch_cuda"] = torch.version.cuda
    facts["cuda_available"] = torch.cuda.is_available()
    if not facts["cuda_available"]:
        raise Stop(f"torch {torch.__version__} sees no CUDA device; run on the GPU machine")
    facts["gpu"] = torch.cuda.get_device_name(0)
    facts["cudnn"] = torch.backends.cudnn.version()  # type: ignore[no-untyped-call]
    facts["float32_matmul_precision"] = torch.get_float32_matmul_precision()


def _ort_facts(facts: dict[str, Any]) -> None:
    import onnxruntime as ort

    facts["onnxruntime"] = ort.__version__
    facts["onnxruntime_from"] = str(Path(ort.__file__).parent)
    facts["onnxruntime_dist"] = _version("onnxruntime-gpu") and "onnxruntime-gpu"
    facts["ort_providers"] = ort.get_available_providers()
    if "CUDAExecutionProvider" not in facts["ort_providers"]:
        raise Stop(
            f"onnxruntime {ort.__version__} from {facts['onnxruntime_from']} has no CUDA "
            "provider; install the staged onnxruntime-gpu wheel (tools/gpu_run.sh does)"
        )


def _tiny_pruned_encoder() -> Any:
    """A tiny random BERT with one empty attention block and one empty FFN block."""
    import torch

    from harness.config.schema import ModelSpec
    from harness.models.load import load_model
    from kprune import Masks, remove_pruned_units

    dense = load_model(ModelSpec("random-shape", name="tiny")).model  # 2 layers, 4 heads, FFN 64
    heads = torch.tensor([[True, True, False, False], [False] * 4])
    neurons = torch.stack([torch.arange(64) < 24, torch.zeros(64, dtype=torch.bool)])
    return remove_pruned_units(dense, Masks(head_keep=heads, neuron_keep=neurons))


def _placements(facts: dict[str, Any]) -> None:
    from harness.errors import HarnessError
    from harness.export.io_names import dummy_batch
    from harness.export.onnx import export_onnx
    from harness.export.static import static_shape_graph
    from harness.runtimes.base import RuntimeSpec
    from harness.runtimes.placement import profile_placement

    spec = RuntimeSpec("onnxruntime", "cuda")
    feed = dummy_batch(2, 16, vocab_size=128, pad_last_rows=1)
    with tempfile.TemporaryDirectory(prefix="kprune-probe-") as tmp:
        exported = export_onnx(_tiny_pruned_encoder(), tmp, sample_batch_sizes=(2,), seq_lens=(8,))
        graphs = {"dynamic": exported, "static_b2_s16": static_shape_graph(exported, 2, 16)}
        for name, graph in graphs.items():
            try:
                placement = profile_placement(graph.path, spec, feed)
            except HarnessError as error:  # the provider fell back, or an option was refused
                raise Stop(f"ORT's CUDA provider is not active: {error}") from error
            facts[f"placement_{name}"] = dataclasses.asdict(placement)


def probe(out: Path) -> int:
    facts: dict[str, Any] = {"python": platform.python_version()}
    for name in ("transformers", "onnx", "numpy"):
        facts[name] = _version(name)
    code = 0
    try:
        _torch_facts(facts)
        _ort_facts(facts)
        _placements(facts)
    except Stop as stop:
        facts["stop"] = str(stop)
        sys.stdout.write(f"STOP: {stop}\n")
        code = EXIT_STOP
    out.write_text(json.dumps(facts, indent=1) + "\n", encoding="utf-8")
    if code == 0:
        static = facts["placement_static_b2_s16"]
        sys.stdout.write(
            f"probe ok: {facts['gpu']}, torch {facts['torch']} (CUDA {facts['torch_cuda']}), "
            f"onnxruntime {facts['onnxruntime']}; fixed-shape graph nodes per provider "
            f"{static['nodes_per_provider']}, Memcpy {len(static['memcpy'])}\n"
        )
    return code


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python tools/gpu_probe.py PROBE.json\n")
        raise SystemExit(2)
    raise SystemExit(probe(Path(sys.argv[1])))
