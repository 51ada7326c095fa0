"""One check of everything a sweep needs, before any expensive step (fine-tune, prune) and before
its results file is opened: the folders it writes (writable, with free space), the task's input
files (readable, UTF-8), the model (present, typed config, an architecture kprune supports,
weight files whole, a tokenizer), the sequence lengths (within the model's positions) and the
devices (CUDA, ONNX Runtime providers).

Every failure is a `UsageError` (exit 2) naming the problem and the way out. Reads configs,
headers and task files; never loads model weights, trains, prunes or times.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from harness.config.schema import BenchmarkConfig
from harness.data.assets import ASSETS, locate_asset
from harness.data.tasks import TOKENIZER_FALLBACKS, TaskKind, glue, load_task
from harness.errors import ConfigError, UsageError
from harness.models.checkpoint import CheckpointFacts, ModelLoadError, checkpoint_facts
from harness.results.atomic_files import check_writable_folder

log = logging.getLogger(__name__)

MIN_FREE_BYTES = 100 * 2**20
"""Free space each written folder needs at the start: results, a few small ONNX graphs."""
RANDOM_MODEL_POSITIONS = 512
"""Positions of the random-weight models (`BertConfig`'s default, which load.py keeps)."""


class PreflightError(UsageError):
    """The sweep cannot start: a folder, file, model, length or device is not as it needs."""


def check_folder(label: str, folder: Path) -> str:
    """UsageError unless `folder` is (or can be created as) a writable folder with free space;
    creates nothing beyond a probe file it deletes at once."""
    free = check_writable_folder(folder, label, MIN_FREE_BYTES)
    return f"{label}: {folder} (writable, {free / 2**30:.1f} GiB free)"


def _task_kind(config: BenchmarkConfig) -> tuple[TaskKind, str]:
    """Read the task's files now (format and encoding errors surface here), unless the
    `datasets` library is to fetch them: then only check that it is installed. A decoder
    sweep reads its two texts instead."""
    if config.language_model is not None:
        from harness.data.texts import read_text

        lm = config.language_model
        counts = {name: len(read_text(name)) for name in (lm.eval_text, lm.calibration_text)}
        line = ", ".join(f"{name} ({n} articles)" for name, n in counts.items())
        return "causal_lm", f"texts: {line}"
    spec = config.task
    if spec.name in glue.GLUE_TASKS and not glue.uses_files(spec):
        glue.datasets_library(spec)
        return glue.GLUE_TASKS[spec.name].kind, f"task {spec.name}: from the datasets library"
    data = load_task(spec)
    where = f"{len(data.train)} train / {len(data.dev)} dev examples"
    return data.kind, f"task {spec.name}: {where}"


def _finetune_base(config: BenchmarkConfig) -> Path:
    from harness.models.finetune import preset

    fine = preset(config.model.name or config.task.name)  # lists the presets when unknown
    return locate_asset(fine.base) if fine.base in ASSETS else Path(fine.base)


def _model_facts(config: BenchmarkConfig, kind: TaskKind) -> tuple[CheckpointFacts, str]:
    spec = config.model
    if spec.source in ("tiny-random", "random-shape", "replay"):  # replay: a random shape too
        from harness.models.load import RANDOM_SHAPES

        shape = "tiny" if spec.source == "tiny-random" else spec.name or ""
        if shape not in RANDOM_SHAPES:
            raise ModelLoadError(
                f"model.name {shape!r} is not a random shape; use one of {sorted(RANDOM_SHAPES)}"
            )
        return CheckpointFacts("bert", RANDOM_MODEL_POSITIONS, False), f"model: random {shape}"
    if spec.source == "hub":
        if not spec.name:
            raise ModelLoadError("model.source 'hub' needs model.name = a hub model id")
        return CheckpointFacts("", None, True), f"model: hub {spec.name} (checked when loaded)"
    if spec.source == "gguf":
        from harness.models.gguf_convert import gguf_path, require_gguf_support

        require_gguf_support()  # names the `decoder` extra when gguf is not installed
        path = gguf_path(spec.path or spec.name or "smollm2")
        return CheckpointFacts("llama", None, True), f"model: {path.name} (GGUF, to float32)"
    if spec.source == "finetuned":
        base = _finetune_base(config)
        facts = checkpoint_facts(base, "classification")
        if not facts.has_tokenizer:
            raise ModelLoadError(f"fine-tuning base {base} has no tokenizer files; add them")
        return facts, f"model: fine-tuned from {base} ({facts.model_type})"
    folder = Path(spec.path or spec.name or "")
    return checkpoint_facts(folder, kind), f"model: {folder}"


def check_tokenizer(config: BenchmarkConfig, facts: CheckpointFacts) -> None:
    task = config.task.name if config.language_model is None else "(decoder: none to lend)"
    if not facts.has_tokenizer and task not in TOKENIZER_FALLBACKS:
        raise ModelLoadError(
            f"the model ships no tokenizer and task {task!r} has none to lend (tasks with one: "
            f"{sorted(TOKENIZER_FALLBACKS)}); add the tokenizer files (tokenizer.json, or "
            "vocab.txt and tokenizer_config.json) to the checkpoint folder"
        )


def check_lengths(config: BenchmarkConfig, facts: CheckpointFacts) -> None:
    """ConfigError unless every token length the sweep encodes fits the model's positions."""
    limit = facts.max_positions
    if limit is None:
        return
    lengths = {"seq_lens": max(config.seq_lens)}
    if config.language_model is None:
        lengths["task.max_length"] = config.task.max_length
    else:
        lm = config.language_model
        lengths["language_model.window_tokens"] = lm.window_tokens
        lengths["seq_lens + language_model.new_tokens"] = max(config.seq_lens) + lm.new_tokens
    lengths["calibration.max_length"] = config.calibration_max_length
    for name, length in lengths.items():
        if length > limit:
            raise ConfigError(
                f"{name} asks for {length} tokens but the model has {limit} positions "
                f"(max_position_embeddings); use --set {name}=... with values <= {limit}"
            )


def check_devices(config: BenchmarkConfig) -> str:
    """CUDA present when a runtime or the evaluation asks for it; ORT providers installed."""
    from harness.runtimes.base import CudaUnavailableError, ProviderUnavailableError
    from harness.runtimes.ort_runtime import PROVIDERS

    users = [r.name for r in config.runtimes if r.device == "cuda"]
    users += ["task.device"] if config.task.device == "cuda" else []
    if users:
        import torch

        if not torch.cuda.is_available():
            raise CudaUnavailableError(
                f"{', '.join(users)} need CUDA, but torch {torch.__version__} sees no CUDA "
                "device here; run on a CUDA machine, or choose CPU runtimes (--set 'runtimes="
                "[{backend=\"torch\"}]') and --set task.device='cpu'"
            )
    wanted = {PROVIDERS[r.device] for r in config.runtimes if r.backend == "onnxruntime"}
    if wanted:
        import onnxruntime

        missing = sorted(wanted - set(onnxruntime.get_available_providers()))
        if missing:
            raise ProviderUnavailableError(
                f"onnxruntime {onnxruntime.__version__} lacks {missing} (it has "
                f"{onnxruntime.get_available_providers()}); install onnxruntime-gpu on a CUDA "
                "machine or drop those runtimes"
            )
    return f"devices: {sorted({r.device for r in config.runtimes} | {config.task.device})}"


def preflight(
    config: BenchmarkConfig,
    folders: Mapping[str, Path],
    *,
    cache_dir: Path | None = None,
    devices: bool = True,
) -> list[str]:
    """Check everything the sweep of `config` needs (see the module docstring); `folders` are
    the ones it writes, by label; `devices=False` (preparing a model only) skips the devices.
    Returns one line per check, for `--dry-run` to show."""
    checked = [check_folder(label, folder) for label, folder in folders.items()]
    if config.model.source == "finetuned":
        from harness.models.finetune import default_cache_dir

        cache = Path(cache_dir or default_cache_dir())
        checked.append(check_folder("model cache ($KPRUNE_BENCH_CACHE)", cache / "models"))
    kind, task_line = _task_kind(config)
    facts, model_line = _model_facts(config, kind)
    check_tokenizer(config, facts)
    check_lengths(config, facts)
    checked += [task_line, model_line] + ([check_devices(config)] if devices else [])
    if facts.max_positions is not None:
        checked.append(f"lengths: within the model's {facts.max_positions} positions")
    log.debug("preflight: %s", "; ".join(checked))
    return checked
