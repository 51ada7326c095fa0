"""Save and reload a dense pruned model: config.json + model.safetensors + structure.json.

`from_pretrained` cannot load non-uniform widths, so loading rebuilds the skeleton from the
structure record first and then loads the weights strictly (never ignore_mismatched_sizes).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
import transformers
from safetensors.torch import load_file, save_file
from torch import nn

from kprune.errors import KpruneError
from kprune.masks import Masks
from kprune.structure import encoder_shape
from kprune.surgery import remove_pruned_units

FORMAT_VERSION = 1
STRUCTURE_FILE = "structure.json"
WEIGHTS_FILE = "model.safetensors"


def save_pruned(model: nn.Module, directory: str | Path) -> Path:
    """Write the model into ``directory`` (created; replaced atomically if it exists)."""
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    shape = encoder_shape(model)
    model.config.save_pretrained(staging)
    state, tied = _untied_state(model)
    save_file(state, str(staging / WEIGHTS_FILE))
    record = {"format_version": FORMAT_VERSION, **shape.to_dict(), "tied_parameters": tied}
    (staging / STRUCTURE_FILE).write_text(json.dumps(record, indent=2))
    if target.exists():
        backup = target.with_name(f".{target.name}.old")
        os.replace(target, backup)
        os.replace(staging, target)
        _remove_tree(backup)
    else:
        os.replace(staging, target)
    return target


def _untied_state(model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(state dict with each shared tensor once, {dropped key: the key holding its tensor}).
    safetensors refuses shared tensors; tied input/output embeddings (Llama with
    tie_word_embeddings) are one tensor under two names."""
    state: dict[str, torch.Tensor] = {}
    tied: dict[str, str] = {}
    seen: dict[tuple[int, int, tuple[int, ...]], str] = {}
    for key, value in model.state_dict().items():
        identity = (value.untyped_storage().data_ptr(), value.storage_offset(), tuple(value.shape))
        if value.numel() > 0 and identity in seen:
            tied[key] = seen[identity]
            continue
        seen[identity] = key
        state[key] = value.detach().contiguous().cpu()
    return state, tied


def _remove_tree(path: Path) -> None:
    for child in sorted(path.rglob("*"), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    path.rmdir()


def load_pruned(directory: str | Path) -> nn.Module:
    """Rebuild a model saved by `save_pruned` (eval mode, outputs identical to the saved one)."""
    source = Path(directory)
    structure_path = source / STRUCTURE_FILE
    if not structure_path.is_file():
        raise KpruneError(f"{source} has no {STRUCTURE_FILE}; it was not written by save_pruned")
    record = json.loads(structure_path.read_text())
    if record.get("format_version") != FORMAT_VERSION:
        raise KpruneError(
            f"{structure_path}: unknown format_version {record.get('format_version')!r}"
        )
    config = transformers.AutoConfig.from_pretrained(source)
    model_class = getattr(transformers, record["model_class"], None)
    if model_class is None:
        raise KpruneError(f"{structure_path}: transformers has no class {record['model_class']!r}")
    model = model_class(config).eval()
    full = encoder_shape(model)
    # records before heads_per_unit existed are multi-head encoders (1 head per unit)
    heads_per_unit = record.get("heads_per_unit", 1)
    if heads_per_unit != full.heads_per_unit:
        raise KpruneError(
            f"{structure_path}: {heads_per_unit} query heads per unit, but the config builds "
            f"{full.heads_per_unit}; config.json and structure.json do not belong together"
        )
    units = [h // heads_per_unit for h in record["heads_per_layer"]]
    neurons = record["neurons_per_layer"]
    masks = Masks(
        torch.arange(max(full.units_per_layer))[None, :] < torch.tensor(units)[:, None],
        torch.arange(max(full.neurons_per_layer))[None, :] < torch.tensor(neurons)[:, None],
    )
    model = remove_pruned_units(model, masks, inplace=True)
    state = load_file(str(source / WEIGHTS_FILE))
    for key, holder in record.get("tied_parameters", {}).items():  # older records: none tied
        state[key] = state[holder]
    model.load_state_dict(state, strict=True)
    return model.eval()
