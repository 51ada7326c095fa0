"""Per-layer structure manifest of a (pruned) encoder, written beside each exported .onnx file.

Reads the structure through `kprune.encoder_shape` (the one place that knows HF module paths);
never changes the model. Sublayers with zero units (bias-only blocks) are marked empty. Reading
a manifest needs no torch (kprune is imported only to build one).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from harness.results.atomic_files import replace_text

if TYPE_CHECKING:
    from torch import nn

log = logging.getLogger(__name__)

MANIFEST_FORMAT = "kprune-bench/onnx-manifest"
MANIFEST_VERSION = 1


def describe_layers(model: nn.Module) -> list[dict[str, Any]]:
    """Per layer: index, kept heads, head size, FFN width, and which sublayers are empty."""
    from kprune import encoder_shape

    shape = encoder_shape(model)
    pairs = zip(shape.heads_per_layer, shape.neurons_per_layer, strict=True)
    return [
        {
            "index": i,
            "heads": heads,
            "head_size": shape.head_size,
            "ffn_width": neurons,
            "attention_empty": heads == 0,
            "ffn_empty": neurons == 0,
        }
        for i, (heads, neurons) in enumerate(pairs)
    ]


def manifest_path_for(onnx_path: Path) -> Path:
    """``model.onnx`` -> ``model.manifest.json`` in the same folder."""
    return onnx_path.with_suffix(".manifest.json")


def build_manifest(model: nn.Module, **extra: Any) -> dict[str, Any]:
    """JSON-ready manifest: format, version, kprune's encoder shape, per-layer records, extras."""
    from kprune import count_parameters, encoder_shape

    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        **encoder_shape(model).to_dict(),
        "vocab_size": int(cast(Any, model).config.vocab_size),
        "params": count_parameters(model),
        "layers": describe_layers(model),
        **extra,
    }


def _write_json(path: Path, document: dict[str, Any]) -> Path:
    return replace_text(path, json.dumps(document, indent=2) + "\n")


def write_manifest(onnx_path: Path, model: nn.Module, **extra: Any) -> Path:
    """Write the manifest of ``model`` beside ``onnx_path``; returns the manifest path."""
    document = build_manifest(model, onnx_file=onnx_path.name, **extra)
    return _write_json(manifest_path_for(onnx_path), document)


def read_manifest(onnx_path: Path) -> dict[str, Any]:
    """The manifest beside ``onnx_path`` (raises FileNotFoundError naming it when absent)."""
    with manifest_path_for(onnx_path).open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


def derive_manifest(src_onnx: Path, dst_onnx: Path, **changes: Any) -> Path:
    """Manifest of ``dst_onnx``: the one of ``src_onnx`` (a graph it was derived from) + changes."""
    document = {**read_manifest(src_onnx), "onnx_file": dst_onnx.name, **changes}
    return _write_json(manifest_path_for(dst_onnx), document)
