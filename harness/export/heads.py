"""Write each attention layer's head count into its exported reshape, so ONNX Runtime's fusion can
detect heads per layer in a pruned graph (pure ONNX graph surgery, numbers unchanged).

transformers 5 reshapes q/k/v with `view(*input_shape, -1, head_dim)`; the exported shape is
`Concat(B, S, -1, d_h)`, and ORT's per-layer head detection (`num_heads=0`) only accepts a
positive constant there ("Failed to detect num_heads"). A global head count would be wrong for a
pruned layer, so the count comes from that layer's own projection bias: len(bias) / d_h.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def _constant(name: str, producers: dict[str, Any], initializers: dict[str, Any]) -> Any:
    """Value of an initializer or Constant node, through Identity chains (the exporter merges
    identical tensors, e.g. all-zero biases, behind Identity nodes); None when not constant."""
    from onnx import numpy_helper

    node = None
    while True:
        if name in initializers:
            return numpy_helper.to_array(initializers[name])
        node = producers.get(name)
        if node is None or node.op_type != "Identity":
            break
        name = node.input[0]
    if node is not None and node.op_type == "Constant":
        for attribute in node.attribute:
            if attribute.name == "value":
                return numpy_helper.to_array(attribute.t)
    return None


def _head_count(reshape: Any, producers: dict[str, Any], initializers: dict[str, Any]) -> int:
    """The head count to pin into `reshape`'s shape, or 0 when it is not a q/k/v head split."""
    add, concat = producers.get(reshape.input[0]), producers.get(reshape.input[1])
    if not (add and concat and add.op_type == "Add" and concat.op_type == "Concat"):
        return 0
    if len(concat.input) != 4:
        return 0
    heads = _constant(concat.input[2], producers, initializers)
    head_dim = _constant(concat.input[3], producers, initializers)
    if heads is None or head_dim is None or heads.size != 1 or int(heads.flat[0]) != -1:
        return 0
    d_h = int(head_dim.flat[0])
    biases = (_constant(name, producers, initializers) for name in add.input)
    bias = next((b for b in biases if b is not None and b.ndim == 1), None)
    if bias is None or d_h <= 0 or bias.size % d_h:
        return 0
    return int(bias.size // d_h)


def pin_head_counts(model: Any) -> int:
    """Pin the head axis of every q/k/v head-split Reshape of `model` (an onnx ModelProto) in
    place; returns how many were pinned."""
    from onnx import numpy_helper

    graph = model.graph
    producers = {output: node for node in graph.node for output in node.output}
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    pinned = 0
    for node in graph.node:
        if node.op_type != "Reshape":
            continue
        heads = _head_count(node, producers, initializers)
        if heads:
            name = f"{node.output[0]}__num_heads"
            value = np.array([heads], dtype=np.int64)
            graph.initializer.append(numpy_helper.from_array(value, name))
            producers[node.input[1]].input[2] = name
            pinned += 1
    log.debug("pinned the head count of %d reshapes", pinned)
    return pinned
