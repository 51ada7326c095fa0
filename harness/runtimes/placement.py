"""Where ONNX Runtime ran each node of a graph: one profiled run, read back per node, and the
check a CUDA-graph row must pass before it is trusted (every node on the GPU, no host copies).

A CUDA graph replays GPU work only: a node ORT placed on the CPU (shape arithmetic, typically) or
a Memcpy between host and device would be left out of the replay or make ORT refuse to capture.
Imports onnxruntime lazily (through `ort_session`); never times anything.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import MeasuredFailure
from harness.runtimes.base import RuntimeSpec
from harness.runtimes.ort_session import PROVIDERS, create_session

log = logging.getLogger(__name__)

MEMCPY_OPS = frozenset({"MemcpyFromHost", "MemcpyToHost"})
_KERNEL_SUFFIX = "_kernel_time"  # ORT's profiler names a node's kernel event <node>_kernel_time


class PlacementError(MeasuredFailure):
    """A graph that must run wholly on one device has nodes elsewhere, or host copies."""


@dataclass(frozen=True)
class NodePlacement:
    """One profiled run: node count per provider, the nodes not on the requested provider and
    the Memcpy nodes ORT inserted (each as "op_type node_name")."""

    requested: str
    nodes_per_provider: Mapping[str, int]
    elsewhere: tuple[str, ...]
    memcpy: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.elsewhere and not self.memcpy

    def describe(self, limit: int = 8) -> str:
        counts = ", ".join(f"{p}: {n}" for p, n in sorted(self.nodes_per_provider.items()))
        text = f"nodes per provider: {counts}"
        if self.memcpy:
            text += f"; {len(self.memcpy)} Memcpy: {', '.join(self.memcpy[:limit])}"
        if self.elsewhere:
            text += f"; {len(self.elsewhere)} off {self.requested}: "
            text += ", ".join(self.elsewhere[:limit])
        return text


def read_profile(events: Iterable[Mapping[str, Any]], requested: str) -> NodePlacement:
    """Placement from ORT profiler events (the JSON list `end_profiling` writes)."""
    nodes: dict[str, tuple[str, str]] = {}
    for event in events:
        args = event.get("args") or {}
        name = str(event.get("name", ""))
        if event.get("cat") == "Node" and name.endswith(_KERNEL_SUFFIX):
            # a kernel whose provider the profile does not name counts as off the device
            provider = str(args.get("provider", "unknown provider"))
            nodes[name.removesuffix(_KERNEL_SUFFIX)] = (str(args.get("op_name")), provider)
    if not nodes:
        raise PlacementError("the ORT profile lists no node kernels; cannot tell where nodes ran")
    providers = Counter(provider for _, provider in nodes.values())
    elsewhere = [
        f"{op} {n}" for n, (op, p) in nodes.items() if p != requested and op not in MEMCPY_OPS
    ]
    memcpy = [f"{op} {n}" for n, (op, _) in nodes.items() if op in MEMCPY_OPS]
    return NodePlacement(requested, dict(providers), tuple(elsewhere), tuple(memcpy))


def static_feed(session: Any) -> dict[str, np.ndarray]:
    """Inputs for one run of a graph whose input axes are all fixed (token id 1, no padding);
    raises `PlacementError` naming the symbolic axes otherwise."""
    feed = {}
    for meta in session.get_inputs():
        if not all(isinstance(d, int) for d in meta.shape):
            raise PlacementError(
                f"input {meta.name} has axes {meta.shape}: a CUDA-graph row needs a graph with "
                "every axis fixed (harness.export.static); export one per timed shape"
            )
        fill = 0 if meta.name == "token_type_ids" else 1
        feed[meta.name] = np.full(meta.shape, fill, dtype=np.int64)
    return feed


def profile_placement(
    path: Path | str, spec: RuntimeSpec, feed: Mapping[str, np.ndarray] | None = None
) -> NodePlacement:
    """Run the graph at `path` once on `spec`'s provider (without CUDA graph capture, which the
    profiler does not see into) and read where each node ran; `feed` defaults to `static_feed`
    (a fixed-shape graph)."""
    probe = dataclasses.replace(spec, variant="") if spec.variant == "cuda_graph" else spec
    with tempfile.TemporaryDirectory(prefix="kprune-placement-") as tmp:
        session = create_session(path, probe, profile_prefix=str(Path(tmp, "profile")))
        names = [i.name for i in session.get_inputs()]
        session.run(None, {n: feed[n] for n in names} if feed else static_feed(session))
        events = json.loads(Path(session.end_profiling()).read_text(encoding="utf-8"))
    placement = read_profile(events, PROVIDERS[spec.device])
    log.info("%s placement: %s", Path(path).name, placement.describe())
    return placement


def require_one_device(placement: NodePlacement, what: str) -> None:
    """`PlacementError` naming the Memcpy and off-device nodes unless every node ran on the
    requested provider."""
    if not placement.clean:
        raise PlacementError(
            f"{what} cannot be timed as a CUDA graph: {placement.describe()}. Fix every axis of "
            "the graph to the timed shape (harness.export.static) so ORT folds the shape "
            "arithmetic, or drop this runtime"
        )
