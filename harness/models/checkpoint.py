"""What a Hugging Face checkpoint folder says about itself, read without loading its weights:
a typed config.json, whether kprune supports the task model it becomes, how many token positions
it has, whether its weight files are whole, and whether its tokenizer loads.

Every problem is a `ModelLoadError` (exit 2) that names the file and the way out. Never builds
a model; `harness.models.load` does that.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from kprune import SUPPORTED_MODELS

log = logging.getLogger(__name__)

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt")
_SHAPE_FIELDS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
)
_POSITION_OFFSET = {"roberta": 2, "xlm-roberta": 2}
"""RoBERTa-style position ids start after the padding index (1), so two positions are unusable."""


class ModelLoadError(UsageError):
    """The model named by a ModelSpec cannot be loaded (missing dir, not a checkpoint, no hub)."""


@dataclass(frozen=True)
class CheckpointFacts:
    """What the preflight needs from a model: its type, usable positions, and tokenizer."""

    model_type: str
    max_positions: int | None
    has_tokenizer: bool


def read_config(folder: Path) -> Any:
    """The checkpoint's transformers config, its shape fields checked to be positive ints."""
    from transformers import AutoConfig

    where = folder / "config.json"
    if not where.is_file():
        raise ModelLoadError(
            f"{folder} is not a Hugging Face checkpoint (no config.json); point model.path at "
            "the folder save_pretrained wrote"
        )
    try:
        config = AutoConfig.from_pretrained(str(folder), local_files_only=True)
    except Exception as error:  # transformers raises many types for one bad file; named below
        raise ModelLoadError(
            f"{where} cannot be read as a model config ({type(error).__name__}: {error}); fix "
            "the file or re-save the checkpoint with save_pretrained"
        ) from error
    for name in _SHAPE_FIELDS:
        value = getattr(config, name, None)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ModelLoadError(f"{where}: {name} is {value!r}, not an integer; fix the file")
        if isinstance(value, int) and value <= 0:
            raise ModelLoadError(f"{where}: {name} is {value}, not positive; fix the file")
    return config


def task_model_class(config: Any, kind: str) -> str:
    """The class name AutoModelFor{SequenceClassification,QuestionAnswering,CausalLM} would
    build."""
    from transformers.models.auto import modeling_auto

    names = {
        "qa": modeling_auto.MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES,
        "causal_lm": modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
    }.get(kind, modeling_auto.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES)
    return str(names.get(config.model_type, f"<no {kind} model for {config.model_type!r}>"))


def check_supported(config: Any, kind: str, where: object) -> None:
    """ModelLoadError unless kprune can prune the task model `config` becomes."""
    name = task_model_class(config, kind)
    if name not in SUPPORTED_MODELS:
        raise ModelLoadError(
            f"{where}: model_type {config.model_type!r} becomes {name}, which is not "
            "supported (kprune cannot prune it); use a checkpoint of a supported model "
            f"({', '.join(SUPPORTED_MODELS)})"
        )


def max_positions(config: Any) -> int | None:
    """Token positions the model can embed (None when its config does not say)."""
    limit = getattr(config, "max_position_embeddings", None)
    if not isinstance(limit, int):
        return None
    return limit - _POSITION_OFFSET.get(config.model_type, 0)


def check_weights(folder: Path) -> None:
    """ModelLoadError unless the folder has weight files whose headers read back whole."""
    files = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin"))
    if not files:
        raise ModelLoadError(
            f"{folder} has no weight files (*.safetensors or *.bin); re-save the model there "
            "with save_pretrained"
        )
    from safetensors import safe_open

    for path in files:
        if path.suffix != ".safetensors":
            continue  # a .bin is only readable by unpickling it: checked when it is loaded
        try:
            with safe_open(str(path), "pt") as weights:
                weights.keys()
        except Exception as error:  # SafetensorError and OSError: a damaged file either way
            raise ModelLoadError(
                f"{path} is damaged ({error}); the file is truncated or not safetensors: copy "
                "it again or re-save the checkpoint with save_pretrained"
            ) from error


def load_tokenizer(folder: Path) -> Any | None:
    """The folder's tokenizer, None when it ships none; ModelLoadError when it does not load."""
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        return None
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as error:  # any failure here is a problem of these files
        raise ModelLoadError(
            f"the tokenizer in {folder} cannot be loaded ({type(error).__name__}: {error}); "
            "re-save it with tokenizer.save_pretrained, or copy the base model's tokenizer "
            "files there"
        ) from error


def checkpoint_facts(folder: Path, kind: str) -> CheckpointFacts:
    """Check a local checkpoint folder for a task of `kind` without loading its weights."""
    if not folder.is_dir():
        raise ModelLoadError(
            f"checkpoint folder {str(folder)!r} does not exist; set model.path to a Hugging "
            "Face checkpoint folder (config.json + weights), e.g. --set model.path=/path/to/ckpt"
        )
    config = read_config(folder)
    check_supported(config, kind, folder / "config.json")
    check_weights(folder)
    tokenizer = load_tokenizer(folder)
    return CheckpointFacts(config.model_type, max_positions(config), tokenizer is not None)
