"""Build or load the base encoder task model named by a `ModelSpec`, and check kprune supports it.

Bundled fine-tuned models come from harness.models.finetune (cached); this module never trains.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertForQuestionAnswering,
    BertForSequenceClassification,
)

from harness.config.schema import ModelSpec
from harness.data.tasks.base import LabelMismatchError, TaskKind
from harness.errors import UsageError
from harness.models import replay
from harness.models.checkpoint import (
    ModelLoadError,
    check_weights,
    load_tokenizer,
    read_config,
)
from harness.models.finetune import finetune, preset
from kprune import encoder_shape

log = logging.getLogger(__name__)

# (layers, hidden, heads, FFN, vocab): random-weight stand-ins for timing-only runs.
RANDOM_SHAPES: dict[str, tuple[int, int, int, int, int]] = {
    "tiny": (2, 32, 4, 64, 128),
    "minilm": (6, 384, 12, 1536, 30522),
    "bert-base": (12, 768, 12, 3072, 30522),
}


@dataclass(frozen=True)
class Head:
    """The task head the loaded model must have: its kind and, when known, its outputs."""

    kind: TaskKind = "classification"
    num_labels: int | None = None
    """Expected head size: checked against a checkpoint's head, used for new heads."""


@dataclass(frozen=True)
class LoadedModel:
    """A model in eval mode, its tokenizer (None for random models) and a human description."""

    model: torch.nn.Module
    tokenizer: Any | None
    description: str


def _random_model(shape: str, spec: ModelSpec, head: Head) -> torch.nn.Module:
    if shape not in RANDOM_SHAPES:
        raise ModelLoadError(f"unknown random shape {shape!r}; known: {sorted(RANDOM_SHAPES)}")
    layers, hidden, heads, ffn, vocab = RANDOM_SHAPES[shape]
    config = BertConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=ffn,
    )
    config.num_labels = head.num_labels or 2
    model_class = BertForQuestionAnswering if head.kind == "qa" else BertForSequenceClassification
    with torch.random.fork_rng(devices=[]):  # seeded without touching the caller's RNG
        torch.manual_seed(spec.seed)
        return model_class(config)


def _load_tiny(spec: ModelSpec, head: Head, cache_dir: Path | None, progress: bool) -> LoadedModel:
    return LoadedModel(
        _random_model("tiny", spec, head), None, f"tiny RANDOM BERT (seed {spec.seed})"
    )


def _load_random_shape(
    spec: ModelSpec, head: Head, cache_dir: Path | None, progress: bool
) -> LoadedModel:
    shape = spec.name or ""
    model = _random_model(shape, spec, head)
    return LoadedModel(model, None, f"RANDOM weights, {shape} shape (seed {spec.seed})")


def _existing_head(config: Any) -> str | None:
    """'qa' or 'sequence' when the checkpoint was saved with a task head, else None."""
    architectures = " ".join(getattr(config, "architectures", None) or [])
    if "ForQuestionAnswering" in architectures:
        return "qa"
    return "sequence" if "ForSequenceClassification" in architectures else None


def _head_kwargs(config: Any, head_wanted: Head, where: str) -> dict[str, Any]:
    """Extra from_pretrained kwargs; LabelMismatchError when a saved head does not fit the task."""
    if head_wanted.kind == "causal_lm":
        return {}  # the LM head is the model's own; kprune names unsupported decoder families
    head, wanted = _existing_head(config), "qa" if head_wanted.kind == "qa" else "sequence"
    if head is not None and head != wanted:
        raise LabelMismatchError(
            f"{where} has a {head} head but the task is {head_wanted.kind}; use a checkpoint "
            f"of a {head_wanted.kind} model, or one saved without a task head"
        )
    labels = head_wanted.num_labels
    if wanted == "qa" or labels is None:
        return {}
    if head is not None and config.num_labels != labels:
        raise LabelMismatchError(
            f"{where} has a {config.num_labels}-output head but {labels} labels were asked; "
            "use a checkpoint fine-tuned on this task, or one saved without a task head"
        )
    return {} if head is not None else {"num_labels": labels}


_AUTO_CLASSES: dict[str, Any] = {
    "qa": AutoModelForQuestionAnswering,
    "causal_lm": AutoModelForCausalLM,
}


def _from_pretrained(where: str, spec: ModelSpec, head: Head, local_only: bool) -> LoadedModel:
    try:
        config = AutoConfig.from_pretrained(where, local_files_only=local_only)
        extra = _head_kwargs(config, head, where)
        auto_class = _AUTO_CLASSES.get(head.kind, AutoModelForSequenceClassification)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.seed)  # any newly initialised head
            model = auto_class.from_pretrained(where, local_files_only=local_only, **extra)
    except UsageError:
        raise
    except Exception as error:  # transformers raises many types for one unreadable checkpoint
        raise ModelLoadError(
            f"cannot load a {head.kind} model from {where!r} ({type(error).__name__}: {error}); "
            "check its config.json and weight files, or re-save it with save_pretrained"
        ) from error
    if Path(where).is_dir():
        tokenizer = load_tokenizer(Path(where))
        if tokenizer is None:
            log.warning("%s has no tokenizer files; LoadedModel.tokenizer is None", where)
    else:
        tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=local_only)
    return LoadedModel(model, tokenizer, f"{type(model).__name__} from {where}")


def _load_local(spec: ModelSpec, head: Head, cache_dir: Path | None, progress: bool) -> LoadedModel:
    folder = Path(spec.path or spec.name or "")
    if not folder.is_dir():
        raise ModelLoadError(
            f"checkpoint folder {str(folder)!r} does not exist; set model.path to a Hugging "
            "Face checkpoint folder (config.json + weights), e.g. --set model.path=/path/to/ckpt"
        )
    read_config(folder)  # a missing or badly typed config.json, named
    check_weights(folder)  # a truncated weight file, named (before transformers reads it)
    return _from_pretrained(str(folder), spec, head, local_only=True)


def _load_hub(spec: ModelSpec, head: Head, cache_dir: Path | None, progress: bool) -> LoadedModel:
    if not spec.name:
        raise ModelLoadError("source 'hub' needs name = a hub model id")
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False")
    try:
        return _from_pretrained(spec.name, spec, head, local_only=offline)
    except ModelLoadError as error:
        raise ModelLoadError(
            f"{error} (is a model hub reachable? offline, use source='local' with a directory)"
        ) from error


def _load_finetuned(
    spec: ModelSpec, head: Head, cache_dir: Path | None, progress: bool
) -> LoadedModel:
    task = spec.name or ""
    recipe = preset(task)
    if spec.seed:  # a sweep seed's own fine-tune (cached apart: the seed is in the cache key)
        recipe = dataclasses.replace(recipe, seed=recipe.seed + spec.seed)
    result = finetune(recipe, cache_dir, progress=progress)
    metric = result.manifest["dev_metric"]
    local = ModelSpec("local", path=str(result.path), seed=spec.seed)
    loaded = _load_local(local, head, cache_dir, progress)
    description = (
        f"{task} fine-tuned {result.manifest['base']} (seed {recipe.seed}; "
        f"{metric['name']} {metric['value']:.4f})"
    )
    return LoadedModel(loaded.model, loaded.tokenizer, description)


def _load_gguf(spec: ModelSpec, head: Head, cache_dir: Path | None, progress: bool) -> LoadedModel:
    """A GGUF decoder (bundled asset name or .gguf file), dequantized to a cached float32
    checkpoint once (harness.models.gguf_convert), then loaded like a local folder."""
    from harness.models.gguf_convert import convert_gguf  # needs the `decoder` extra

    if head.kind != "causal_lm":
        raise ModelLoadError(
            "model.source 'gguf' holds a decoder LM: add a [language_model] section (perplexity "
            "and decode timing) instead of a task"
        )
    converted = convert_gguf(spec.path or spec.name or "smollm2", cache_dir)
    local = ModelSpec("local", path=str(converted.path), seed=spec.seed)
    loaded = _load_local(local, head, cache_dir, progress)
    note = converted.manifest.get("weights", "GGUF weights")
    source = converted.manifest.get("source_file", converted.path.name)
    return LoadedModel(loaded.model, loaded.tokenizer, f"{source}: {note}")


_LOADERS: dict[str, Callable[[ModelSpec, Head, Path | None, bool], LoadedModel]] = {
    "finetuned": _load_finetuned,
    "local": _load_local,
    "hub": _load_hub,
    "tiny-random": _load_tiny,
    "random-shape": _load_random_shape,
    "replay": replay.load_replay,
    "gguf": _load_gguf,
}


def load_model(
    spec: ModelSpec,
    head: Head | None = None,
    *,
    cache_dir: Path | None = None,
    progress: bool = False,
) -> LoadedModel:
    """Load `spec` in eval mode; kprune.UnsupportedModelError if its architecture is unsupported.

    "finetuned" trains the preset on first use (minutes) and reuses the cache afterwards.
    """
    if spec.source not in _LOADERS:
        raise ModelLoadError(f"unknown model source {spec.source!r}; known: {sorted(_LOADERS)}")
    loaded = _LOADERS[spec.source](spec, head or Head(), cache_dir, progress)
    loaded.model.eval()
    shape = encoder_shape(loaded.model)  # raises kprune.UnsupportedModelError
    log.info("loaded %s: %s", loaded.description, shape)
    return loaded
