"""The sweep schema: frozen dataclasses whose fields hold the ONLY defaults of every setting.

Constructors only validate ranges and vocabularies: no devices, environment, files or network,
and no imports of model loading or task loaders (which name them is `harness.config.load`'s
check). Every stage takes its section of this schema instead of repeating a default.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from harness.config.gate_spec import GateSpec
from harness.config.methods import check_method_options, check_methods
from harness.errors import ConfigError
from harness.measure.clock import TimingSpec
from harness.runtimes.base import RuntimeSpec

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
ModelSource = Literal["finetuned", "local", "hub", "tiny-random", "random-shape", "replay", "gguf"]
Budget = Literal["flops", "params"]
TaskSource = Literal["auto", "files", "datasets"]
TableKind = Literal["classification", "regression"]
TableFormat = Literal["auto", "csv", "tsv", "jsonl", "parquet"]
Device = Literal["cpu", "cuda"]


def require(condition: bool, message: str) -> None:
    """ConfigError(message) unless `condition`: the one way this schema rejects a value."""
    if not condition:
        raise ConfigError(message)


def _choice(value: str, allowed: tuple[str, ...], key: str) -> None:
    require(value in allowed, f"{key} is {value!r}; choose one of {list(allowed)}")


def _positive_ints(values: tuple[int, ...], name: str) -> None:
    require(len(values) > 0, f"{name} must not be empty")
    require(all(v > 0 for v in values), f"{name} must be positive integers, got {list(values)}")
    require(len(set(values)) == len(values), f"{name} has duplicates: {list(values)}")


@dataclass(frozen=True)
class ModelSpec:
    """Where the base model comes from; the task adds its kind and label count at load time."""

    source: ModelSource = "finetuned"
    """finetuned | local | hub | tiny-random | random-shape | replay | gguf (models.load)."""
    name: str | None = None
    """finetuned: the fine-tuning preset (None = the task's name); hub: model id;
    random-shape and replay: shape name (tiny, minilm, bert-base); local: a folder (or `path`);
    gguf: a bundled GGUF asset (smollm2) or a .gguf file (or `path`), converted to float32 once."""
    path: str | None = None
    seed: int = 0
    """Seed of random weights and of newly initialised task heads; with source "finetuned",
    added to the fine-tuning preset's seed (0: the preset as written)."""
    description: str = ""
    """Shown in reports; a random-weight preset must say so."""
    replay_run: str | None = None
    """replay: the stored results file whose points are rebuilt (same heads and FFN width per
    layer, random weights); its `name` shape must be the shape that run pruned."""

    def __post_init__(self) -> None:
        _choice(self.source, get_args(ModelSource), "model.source")
        replay = self.source == "replay"
        require(
            replay == (self.replay_run is not None) and (not replay or bool(self.name)),
            "model.source 'replay' needs model.replay_run (a results .json) and model.name (the "
            "shape that run pruned, e.g. minilm), and replay_run needs source 'replay'",
        )


@dataclass(frozen=True)
class TaskSpec:
    """The task whose metric is evaluated and whose train split feeds calibration."""

    name: str = "rotten_tomatoes"
    data_dir: str | None = None
    """Folder with your own task files (GLUE-format TSV folder, SQuAD JSON folder)."""
    path: str | None = None
    """A single data file where the task has one (e.g. the Rotten Tomatoes CSV; for text_table,
    one table whose rows are split into train and dev by dev_fraction and split_seed)."""
    source: TaskSource = "auto"
    """GLUE only: "files" (needs data_dir), "datasets" (the datasets library) or "auto"."""
    max_length: int = 128
    """Token length of evaluation encodings (and of calibration unless it sets its own)."""
    eval_batch_size: int = 64
    max_eval_examples: int | None = None
    """Evaluate on the first N dev examples only (None = the whole dev split)."""
    onnx_metric_tolerance: float = 0.005
    export_atol: float = 1e-4
    """Absolute output tolerance of the export parity gate (rtol 1e-3) on the task head's logits.
    A heavily pruned, least-squares-refit base-size model can need more: MPNet-base at kept 0.3
    from 4,096 calibration tokens differed by up to 3.2e-3 (the metric check still applies)."""
    """Largest |metric(ORT) - metric(torch)| accepted when the exported model is evaluated."""
    device: Device = "cpu"
    """Where PyTorch evaluates the metric."""
    # text_table (your own labelled table; see harness/data/tasks/text_table.py) -----------------
    train_path: str | None = None
    """text_table: the train file (CSV, TSV, JSON Lines or Parquet); needs dev_path."""
    dev_path: str | None = None
    """text_table: the dev file, same columns as train_path."""
    dev_fraction: float = 0.2
    """text_table with `path`: share of its rows held out as dev, in (0, 1)."""
    split_seed: int = 0
    """text_table with `path`: seed of the row permutation that picks the dev rows."""
    text_column: str = "text"
    text_pair_column: str | None = None
    """text_table: the second text of a sentence pair (None = single texts)."""
    label_column: str = "label"
    kind: TableKind = "classification"
    """text_table: "classification" (classes from the label column) or "regression" (a float
    target, scored by Spearman); never inferred from the values."""
    labels: tuple[str, ...] | None = None
    """text_table classification: class order, as written in the file (quoted: ["0", "1"]);
    None = the train labels sorted (numerically when all are integers), listed in the log."""
    format: TableFormat = "auto"
    """text_table: csv | tsv | jsonl | parquet, or "auto" (from the file suffix)."""

    def __post_init__(self) -> None:
        require(self.max_length >= 8, f"task.max_length must be >= 8, got {self.max_length}")
        _choice(self.source, get_args(TaskSource), "task.source")
        require(self.eval_batch_size > 0, "task.eval_batch_size must be > 0")
        n = self.max_eval_examples
        require(n is None or n > 0, f"task.max_eval_examples must be > 0, got {n}")
        require(self.onnx_metric_tolerance >= 0, "task.onnx_metric_tolerance must be >= 0")
        require(self.export_atol > 0, f"task.export_atol must be > 0, got {self.export_atol}")
        _choice(self.device, get_args(Device), "task.device")
        _check_table_fields(self)


def _check_table_fields(spec: TaskSpec) -> None:
    """The text_table settings: one path style, a split fraction, distinct columns, labels."""
    _choice(spec.kind, get_args(TableKind), "task.kind")
    _choice(spec.format, get_args(TableFormat), "task.format")
    require(
        (spec.train_path is None) == (spec.dev_path is None),
        "task.train_path and task.dev_path go together: give both (or task.path alone, "
        "split by task.dev_fraction)",
    )
    require(
        spec.path is None or spec.train_path is None,
        "give either task.path (one file, split by task.dev_fraction and task.split_seed) or "
        "task.train_path + task.dev_path, not both",
    )
    fraction = spec.dev_fraction
    require(0.0 < fraction < 1.0, f"task.dev_fraction must be in (0, 1), got {fraction}")
    columns = [spec.text_column, spec.text_pair_column, spec.label_column]
    named = [column for column in columns if column is not None]
    require(all(named), "task.text_column, text_pair_column and label_column must not be empty")
    require(
        len(set(named)) == len(named),
        f"task.text_column, text_pair_column and label_column must differ, got {named}",
    )
    labels = spec.labels
    if labels is not None:
        require(spec.kind == "classification", "task.labels is for task.kind 'classification'")
        require(len(labels) >= 2, f"task.labels needs >= 2 classes, got {list(labels)}")
        require(len(set(labels)) == len(labels), f"task.labels has duplicates: {list(labels)}")


@dataclass(frozen=True)
class CalibrationSpec:
    """Calibration sample for pruning (spec §9: the reference uses 100K tokens).

    The draw is the official code's: rows drawn at random WITH replacement (its
    `np.random.choice`) and batched in draw order. Measured on the bundled MiniLM Rotten Tomatoes
    model at 4,096 tokens, 4 seeds, whole dev split (`benchmarks/calibration_protocol.py`,
    bench_results/calibration/protocol.json), mean accuracy at kept 0.5 / 0.3:
    random order with replacement 0.8179 / 0.7945, without 0.8142 / 0.7896; sorted by length
    with replacement 0.8158 / 0.7905, without 0.8133 / 0.7899 (seed std 0.2-0.7 points). No
    alternative is more accurate beyond the seed spread, so the official protocol stays; sorting
    saves little time because pruning runs on packed real tokens (padding only in attention).
    """

    num_tokens: int = 20_000
    """Real (non-pad) train tokens drawn; pruning time grows linearly with it."""
    batch_size: int = 32
    max_length: int | None = None
    """Token length of calibration encodings (None = task.max_length)."""
    seed: int = 0
    """Seed of the draw (a sweep's seed s draws with seed + s, see BenchmarkConfig.seeds)."""
    sort_by_length: bool = False
    """Group rows of similar length into batches instead of the draw order (less padding)."""
    replacement: bool = True
    """Draw rows independently (a row may repeat); False: one permutation, each row once."""

    def __post_init__(self) -> None:
        require(self.num_tokens > 0, f"calibration.num_tokens must be > 0, got {self.num_tokens}")
        require(self.batch_size > 0, "calibration.batch_size must be > 0")
        length = self.max_length
        require(length is None or length >= 8, "calibration.max_length must be >= 8")


@dataclass(frozen=True)
class LanguageModelSpec:
    """A causal-LM sweep (decoders): perplexity on windows of a bundled text instead of a task
    metric, calibration windows cut from another text, and prefill + decode timing.

    With this section the `task` section is not read; calibration.num_tokens, batch_size, seed
    and max_length (the window length; None = window_tokens) still say what pruning reads.
    """

    eval_text: str = "wikipedia"
    """Bundled text scored for perplexity (harness.data.texts: wikipedia, lee_background)."""
    calibration_text: str = "lee_background"
    """Bundled text the calibration windows are drawn from (never the evaluation text)."""
    window_tokens: int = 512
    stride_tokens: int = 512
    """Perplexity windows start every stride tokens (= window: non-overlapping; each window's
    first token is not scored); see harness.measure.perplexity."""
    max_eval_windows: int | None = None
    """Score only the first N windows (CPU cost is linear in them); None = the whole text."""
    new_tokens: int = 16
    """Greedy tokens per timed decode call (the KV-cache decode rows); the prompt is seq_len."""
    ort_rel_tolerance: float = 1e-3
    """Largest |ppl(ORT) / ppl(torch) - 1| accepted when the exported prefill graph is scored."""
    export_atol: float = 1e-2
    """Absolute logit tolerance of the export gate (`export.decoder_onnx`, rtol 1e-3). Looser
    than an encoder's 1e-4: a pruned, least-squares-refit decoder's logits over a 49K-word
    vocabulary differed by up to 4.8e-3 between ORT and PyTorch on SmolLM2 (dense: 8.7e-5), while
    export bugs (wrong cache, wrong heads) differ by whole units. The real-text perplexity check
    (`ort_rel_tolerance`) is the strict one."""
    ort_check_windows: int | None = 1
    """Windows the exported prefill graph is scored on, against PyTorch on the same windows (the
    export gate already checked its logits; this checks it on real text at a fraction of the
    cost). None: every evaluation window, and ONNX Runtime rows carry ORT's own perplexity
    (otherwise they carry PyTorch's, and say so in metric_source)."""

    def __post_init__(self) -> None:
        require(self.window_tokens >= 2, "language_model.window_tokens must be >= 2")
        require(
            0 < self.stride_tokens <= self.window_tokens,
            "language_model.stride_tokens must be in (0, window_tokens]",
        )
        n = self.max_eval_windows
        require(n is None or n > 0, f"language_model.max_eval_windows must be > 0, got {n}")
        require(self.new_tokens >= 1, "language_model.new_tokens must be >= 1")
        require(self.ort_rel_tolerance >= 0, "language_model.ort_rel_tolerance must be >= 0")
        require(self.export_atol > 0, "language_model.export_atol must be > 0")
        check = self.ort_check_windows
        require(check is None or check > 0, "language_model.ort_check_windows must be > 0")
        require(
            self.eval_text != self.calibration_text,
            "language_model.calibration_text must differ from eval_text (no calibration on "
            "the evaluation text)",
        )


def _check_ratios(ratios: tuple[float, ...]) -> None:
    require(len(ratios) > 0, "flops_ratios must not be empty")
    for ratio in ratios:
        require(
            not math.isnan(ratio) and 0.0 < ratio <= 1.0,
            f"flops_ratios: {ratio!r} is outside (0, 1] (kept/original FLOPs; 0.6 keeps 60%)",
        )
    require(len(set(ratios)) == len(ratios), f"flops_ratios has duplicates: {list(ratios)}")


@dataclass(frozen=True)
class BenchmarkConfig:
    """A whole sweep: model, task, methods x kept-FLOPs ratios x runtimes x batch x seq."""

    name: str
    description: str = ""
    model: ModelSpec = field(default_factory=ModelSpec)
    task: TaskSpec = field(default_factory=TaskSpec)
    methods: tuple[str, ...] = ("kprune",)
    flops_ratios: tuple[float, ...] = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2)
    """Kept/original ratios of the `budget` quantity (FLOPs unless budget = "params"); 1.0 is
    the dense reference, measured once (method "dense")."""
    budget: Budget = "flops"
    """What each ratio keeps: "flops" (kprune's FLOPs model) or "params" (parameters of the
    whole model, tied embeddings once: the Kprune rebuttal's "5-20% of parameters pruned" is
    0.95-0.8). One budget per run: the point keys do not say which."""
    method_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per-method overrides of the method's config class, e.g. {"kprune": {"rep_weight": 1e-3}};
    written as a top-level TOML table `[kprune]` or `--set kprune.rep_weight=1e-3`."""
    calibration: CalibrationSpec = field(default_factory=CalibrationSpec)
    runtimes: tuple[RuntimeSpec, ...] = (
        RuntimeSpec("torch", threads=1),
        RuntimeSpec("onnxruntime", threads=1),
    )
    batch_sizes: tuple[int, ...] = (1, 8)
    seq_lens: tuple[int, ...] = (128,)
    timing: TimingSpec = field(default_factory=TimingSpec)
    isolate_backends: bool = False
    """Time each backend in its own process (measurement.md: needed with more than 1 thread)."""
    isolated_timeout_s: float = 1800.0
    """Longest a timing child may run before it is killed and its trials recorded as errors."""
    interleave_dense: bool = True
    """Time the dense model again, interleaved with each pruned trial, for its speedup."""
    evaluate: bool = True
    """Evaluate the task metric at every point (False for random-weight latency-only sweeps)."""
    export: bool = False
    """Export ONNX at every point even when no onnxruntime trial needs it."""
    seed: int = 0
    """Seeds torch/numpy once per sweep (random-weight models, runtime inputs)."""
    seeds: tuple[int, ...] = (0,)
    """Replicates: each seed s builds every point again, from the calibration draw of
    calibration.seed + s, the fine-tuned model of its preset's seed + s (model.source
    "finetuned"; other sources load the same weights) and seeded methods (random) at their
    seed + s, so a sweep reports the mean and spread per ratio (harness.report.seeds). Seed 0
    is the config as written, and its keys carry no seed."""
    language_model: LanguageModelSpec | None = None
    """Set for a decoder (causal LM) sweep: perplexity, calibration text, decode timing."""
    gate: GateSpec = field(default_factory=GateSpec)
    """How `kprune-bench gate` re-times and judges this config's trials (ignored by sweeps)."""

    def __post_init__(self) -> None:
        require(
            bool(NAME_PATTERN.match(self.name)),
            f"name {self.name!r} must match {NAME_PATTERN.pattern} (it is used in file names): "
            "use 1-100 letters, digits, '_', '.' or '-'",
        )
        check_methods(self.methods)
        _check_ratios(self.flops_ratios)
        require(len(self.runtimes) > 0, "runtimes must not be empty")
        names = [runtime.name for runtime in self.runtimes]  # threads are not part of trial keys
        require(len(set(names)) == len(names), f"runtimes has duplicates: {names}")
        require(
            len(self.seeds) > 0 and all(s >= 0 for s in self.seeds),
            f"seeds must be non-negative integers, at least one, got {list(self.seeds)}",
        )
        require(
            len(set(self.seeds)) == len(self.seeds), f"seeds has duplicates: {list(self.seeds)}"
        )
        _positive_ints(self.batch_sizes, "batch_sizes")
        _positive_ints(self.seq_lens, "seq_lens")
        require(self.isolated_timeout_s > 0, "isolated_timeout_s must be > 0")
        require(
            not (self.model.source == "replay" and self.evaluate),
            "a replayed model has random weights: set evaluate = false (its rows carry the "
            "metric of the run its structures come from)",
        )
        for method, options in self.method_options.items():
            check_method_options(method, options)
        _choice(self.budget, get_args(Budget), "budget")
        if self.language_model is not None:
            _check_language_model_sweep(self)

    @property
    def calibration_max_length(self) -> int:
        """The calibration encoding length actually used (a decoder's: its window length)."""
        if self.language_model is not None:
            return self.calibration.max_length or self.language_model.window_tokens
        return self.calibration.max_length or self.task.max_length


def _check_language_model_sweep(config: BenchmarkConfig) -> None:
    """What a decoder sweep cannot do: the latency rows time plain eager / default graphs."""
    require(
        config.model.source in ("gguf", "local", "hub"),
        f"a language_model sweep loads a causal LM checkpoint: model.source is "
        f"{config.model.source!r}; use 'gguf' (e.g. name = \"smollm2\"), 'local' or 'hub'",
    )
    plain = {"eager", "default", "iobinding"}
    odd = [r.name for r in config.runtimes if r.variant not in plain or r.dtype != "float32"]
    require(
        not odd,
        f"runtimes {odd}: a language_model sweep times float32 eager PyTorch and the plain ONNX "
        "Runtime graphs (prefill and decode-with-cache); drop the variant and dtype settings",
    )
