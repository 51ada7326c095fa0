"""Fixed-shape twins of an exported graph, one per timed (batch, sequence) shape, for CUDA graphs.

The dynamic graph computes the attention mask's index arithmetic from input shapes at run time
(Shape, Range, ...): ORT runs those nodes on the CPU and copies their results to the GPU, which
a CUDA graph cannot replay. With both axes fixed, ORT's basic optimizations (applied before
nodes are placed on a provider) fold that arithmetic into constants. Writes files; the parity of
each twin on the device that runs it is `export.device_parity`'s job.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harness.export.manifest import derive_manifest
from harness.export.onnx import ExportedModel, ExportError

log = logging.getLogger(__name__)

AXES = ("batch", "sequence")
"""The symbolic axes `export_onnx` names (dynamic batch and sequence)."""
SHAPE_OPS = frozenset({"Shape", "Size", "Range", "ConstantOfShape"})
"""Operators that compute from tensor shapes at run time (ORT places them on the CPU)."""


def _fix_axes(src: Path, dst: Path, batch: int, seq: int) -> None:
    import onnx
    from onnxruntime.tools.onnx_model_utils import make_dim_param_fixed

    model = onnx.load(str(src))
    for name, value in zip(AXES, (batch, seq), strict=True):
        make_dim_param_fixed(model.graph, name, value)
    left = {
        f"{value.name}: {dim.dim_param}"
        for value in (*model.graph.input, *model.graph.output)
        for dim in value.type.tensor_type.shape.dim
        if dim.dim_param
    }
    if left:
        raise ExportError(
            f"{src} has symbolic axes other than {AXES} ({sorted(left)}); export it with "
            "export_onnx, which names exactly these"
        )
    onnx.save(model, str(dst))


def static_shape_graph(exported: ExportedModel, batch: int, seq: int) -> ExportedModel:
    """``<stem>_b<batch>_s<seq>.onnx`` beside `exported`: the same graph with both axes fixed,
    with a manifest saying so (`static_shape`). Not gated here: see `export.device_parity`."""
    start = time.perf_counter()
    path = exported.path.with_name(f"{exported.path.stem}_b{batch}_s{seq}.onnx")
    _fix_axes(exported.path, path, batch, seq)
    manifest = derive_manifest(
        exported.path, path, static_shape=[batch, seq], fixed_from=exported.path.name
    )
    seconds = time.perf_counter() - start
    log.info("fixed %s to batch %d, sequence %d in %.1f s", path.name, batch, seq, seconds)
    return dataclasses.replace(exported, path=path, manifest_path=manifest, seconds=seconds)


def shape_ops_after_folding(path: Path) -> dict[str, int]:
    """`SHAPE_OPS` left in the graph at `path` after ORT's basic (provider-independent)
    optimizations: what would run on the CPU beside a GPU session. Writes a scratch file only."""
    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="kprune-fold-") as tmp:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(Path(tmp, "folded.onnx"))
        ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        folded = onnx.load(options.optimized_model_filepath)
    return dict(Counter(n.op_type for n in folded.graph.node if n.op_type in SHAPE_OPS))


@dataclass
class StaticShapeGraphs:
    """The fixed-shape twins of one exported graph, each written on first request and kept."""

    source: ExportedModel
    made: dict[tuple[int, int], ExportedModel] = field(default_factory=dict)

    @property
    def dtype(self) -> str:
        return self.source.dtype

    @property
    def seconds(self) -> float:
        """Seconds spent writing every twin so far (what a row's export time counts)."""
        return sum(graph.seconds for graph in self.made.values())

    def for_shape(self, batch: int, seq: int) -> ExportedModel:
        """The twin fixed to (batch, seq), written now if it is not there yet."""
        if (batch, seq) not in self.made:
            self.made[(batch, seq)] = static_shape_graph(self.source, batch, seq)
        return self.made[(batch, seq)]
