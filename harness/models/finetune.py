"""Fine-tune task models from a pretrained encoder, cached by content hash with a manifest.

A model directory appears in the cache only complete (written to a temp dir, then renamed).
`python -m harness.models.finetune rotten_tomatoes reuters_r8` makes the bundled task models.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from harness.data.assets import ASSETS, locate_asset
from harness.data.tasks import TaskData, TaskSpec, TextExample, UnknownTaskError, load_task
from harness.errors import MeasuredFailure
from harness.measure.evaluation import evaluate
from harness.models import cache
from harness.models.training import train_text_model
from harness.runtimes.torch_runtime import torch_predictor

log = logging.getLogger(__name__)


class FinetuneError(MeasuredFailure):
    """The base encoder or the task cannot be fine-tuned (not a checkpoint, QA task, ...)."""


@dataclass(frozen=True)
class FinetuneSpec:
    """What to fine-tune and how; the field defaults are the Rotten Tomatoes preset."""

    task: str = "rotten_tomatoes"
    base: str = "minilm"
    """A bundled encoder asset name, or a local Hugging Face checkpoint directory."""
    task_data_dir: str | None = None
    epochs: int = 1
    lr: float = 8e-5
    batch_size: int = 32
    eval_batch_size: int = 64
    max_length: int = 64
    """RT snippets: p99 = 56 tokens, max 78, so 64 truncates < 1 % of them."""
    max_train_examples: int | None = None
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    freeze_word_embeddings: bool = True
    """Skip the 11.7M-parameter word-embedding update: ~15 % less time per step on CPU."""
    seed: int = 0

    def hyperparameters(self) -> dict[str, Any]:
        """Training settings that enter the cache key (not where the data or weights live)."""
        skip = {"task", "base", "task_data_dir", "eval_batch_size"}  # eval size: not training
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}


PRESETS: dict[str, FinetuneSpec] = {
    "rotten_tomatoes": FinetuneSpec(),
    # R8 documents are long (median 66 words, p90 248) but state the topic up front (title and
    # first sentence): 128 tokens keep 64 % of the real tokens. Batch 16 doubles the updates per
    # epoch at equal cost (padding is the same); 1 epoch at batch 32 gave 0.946, macro-F1 0.65.
    "reuters_r8": FinetuneSpec(task="reuters_r8", max_length=128, batch_size=16, epochs=2, lr=1e-4),
    # all-mpnet-base-v2 on Rotten Tomatoes: ~8x MiniLM-L6's FLOPs per token, so on the order of
    # an hour per epoch on 2 CPU cores; lr 3e-5 is the usual base-size value (not yet tuned here)
    "rotten_tomatoes_mpnet": FinetuneSpec(base="mpnet", lr=3e-5),
}


_KEY_FIELDS = ("task", "source_weights_sha256", "data_sha256", "hyperparameters")


@dataclass(frozen=True)
class FinetunedModel:
    """A cached fine-tuned checkpoint directory and its manifest; `reused` if it was cached."""

    path: Path
    manifest: dict[str, Any]
    reused: bool = False


def preset(task: str) -> FinetuneSpec:
    """The fine-tuning preset of `task`; UnknownTaskError lists the presets."""
    if task not in PRESETS:
        raise UnknownTaskError(
            f"no fine-tuning preset for {task!r}; presets: {sorted(PRESETS)}. For your own data "
            'give a model already fine-tuned on it: [model] source = "local", '
            'path = "/path/to/checkpoint" (or source = "hub", name = "org/model")'
        )
    return PRESETS[task]


def default_cache_dir() -> Path:
    """$KPRUNE_BENCH_CACHE, else ~/.cache/kprune-bench."""
    return Path(os.environ.get("KPRUNE_BENCH_CACHE") or Path.home() / ".cache" / "kprune-bench")


def base_directory(base: str) -> Path:
    """Checkpoint folder of a bundled encoder name or a local path; FinetuneError otherwise."""
    folder = locate_asset(base) if base in ASSETS else Path(base)
    if not (folder / "config.json").is_file():
        raise FinetuneError(f"base {base!r} is not a Hugging Face checkpoint (no config.json)")
    return folder


def _load_average() -> list[float]:
    """1, 5 and 15 minute load averages: this machine is shared, so timings need them."""
    return [round(load, 2) for load in os.getloadavg()]


def _train_and_save(
    spec: FinetuneSpec,
    data: TaskData,
    base_dir: Path,
    out: Path,
    manifest: dict[str, Any],
    progress: bool,
) -> None:
    """Train, evaluate on dev, and write model, tokenizer and manifest into `out`."""
    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    torch.manual_seed(spec.seed)  # the new head's initial weights
    model = AutoModelForSequenceClassification.from_pretrained(
        base_dir,
        local_files_only=True,
        num_labels=data.num_labels,
        problem_type="regression" if data.kind == "regression" else "single_label_classification",
        id2label=dict(enumerate(data.label_names or ("score",))),
    )
    if spec.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    train = cache.subset(data.train, spec.max_train_examples, spec.seed)
    loads_before = _load_average()
    stats = train_text_model(
        model,
        tokenizer,
        [e for e in train if isinstance(e, TextExample)],
        kind=data.kind,
        epochs=spec.epochs,
        lr=spec.lr,
        batch_size=spec.batch_size,
        max_length=spec.max_length,
        warmup_ratio=spec.warmup_ratio,
        weight_decay=spec.weight_decay,
        seed=spec.seed,
        progress=progress,
    )
    loads_after = _load_average()
    metric = evaluate(
        torch_predictor(model.eval()),
        data,
        tokenizer,
        batch_size=spec.eval_batch_size,
        max_length=spec.max_length,
        progress=progress,
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    manifest = {
        **manifest,
        "train_examples": len(train),
        "steps": stats.steps,
        "train_s": round(stats.train_s, 2),
        "last_epoch_loss": stats.last_epoch_loss,
        "load_average_before": loads_before,
        "load_average_after": loads_after,
        "torch_threads": torch.get_num_threads(),
        "dev_metric": dataclasses.asdict(metric),
        "library_versions": cache.library_versions(),
    }
    cache.write_json(out / cache.MANIFEST, manifest)


def finetune(
    spec: FinetuneSpec, cache_dir: Path | None = None, *, progress: bool = True
) -> FinetunedModel:
    """Return the cached model for `spec`, training and caching it first when absent."""
    data = load_task(TaskSpec(spec.task, data_dir=spec.task_data_dir))
    if data.kind == "qa":
        raise FinetuneError(f"fine-tuning supports classification/regression, not {spec.task!r}")
    base_dir = base_directory(spec.base)
    manifest: dict[str, Any] = {
        "task": spec.task,
        "kind": data.kind,
        "label_names": list(data.label_names),
        "base": spec.base,
        "source_weights_sha256": cache.weights_sha256(base_dir),
        "data_sha256": cache.task_data_sha256(data),
        "hyperparameters": spec.hyperparameters(),
    }
    key = cache.key_of({k: manifest[k] for k in _KEY_FIELDS})
    models_dir = Path(cache_dir or default_cache_dir()) / "models"
    final = models_dir / f"{spec.task}-{Path(spec.base).name}-{key}"
    if final.exists():
        return FinetunedModel(final, cache.read_manifest(final), reused=True)
    with cache.atomic_dir(final) as temp, torch.random.fork_rng(devices=[]):
        _train_and_save(spec, data, base_dir, temp, {**manifest, "cache_key": key}, progress)
    log.info("cached %s at %s", spec.task, final)
    return FinetunedModel(final, cache.read_manifest(final))


def main(argv: list[str] | None = None) -> int:
    """Fine-tune the named presets (one command from a clean cache) and log their metrics."""
    parser = argparse.ArgumentParser(
        prog="python -m harness.models.finetune", description=main.__doc__
    )
    parser.add_argument("tasks", nargs="+", choices=sorted(PRESETS))
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.threads:  # 1 beats 2 when other processes contend for a 2-core machine
        torch.set_num_threads(args.threads)
    for task in args.tasks:
        result = finetune(preset(task), args.cache_dir, progress=not args.no_progress)
        m = result.manifest
        log.info(
            "%s: %s = %.4f (extras %s), train %.1f s, load avg %s -> %s, %s, %s",
            task,
            m["dev_metric"]["name"],
            m["dev_metric"]["value"],
            m["dev_metric"]["extras"],
            m["train_s"],
            m["load_average_before"],
            m["load_average_after"],
            "reused" if result.reused else "trained",
            result.path,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
