"""Benchmark configuration: frozen dataclasses (defaults live only here) and their validation.

TOML presets (harness/config/presets/*.toml) and `--set a.b=v` overrides are derived from the fields.
Constructors only validate: no devices, environment or network; only `load_config` reads a file.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from harness.config import coerce as typed
from harness.errors import HarnessError
from harness.runtimes.base import RuntimeSpec
from harness.measure.clock import TimingSpec

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DENSE_METHOD = "dense"
"""Method name of the unpruned reference point (flops ratio 1.0), measured once per sweep."""


class ConfigError(HarnessError, ValueError):
    """A configuration key or value is unknown, mistyped or out of range (bad usage, exit 2)."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _positive_ints(values: tuple[int, ...], name: str) -> None:
    _require(len(values) > 0, f"{name} must not be empty")
    _require(all(v > 0 for v in values), f"{name} must be positive integers, got {list(values)}")
    _require(len(set(values)) == len(values), f"{name} has duplicates: {list(values)}")


@dataclass(frozen=True)
class ModelSection:
    """Where the base model comes from (the runner adds the task's kind and label count)."""

    source: str = "finetuned"
    """finetuned | local | hub | tiny-random | random-shape (see harness.models.load)."""
    name: str | None = None
    """finetuned: the fine-tuning preset (None = the task's name); hub: model id;
    random-shape: shape name (tiny, minilm, bert-base); local: a folder (or use `path`)."""
    path: str | None = None
    seed: int = 0
    """Seed of random weights and of newly initialised task heads."""
    description: str = ""
    """Shown in reports; a random-weight preset must say so."""

    def __post_init__(self) -> None:
        from harness.models.load import ModelSource

        sources = get_args(ModelSource)
        _require(self.source in sources, f"unknown model.source {self.source!r}; known: {sources}")


@dataclass(frozen=True)
class TaskSection:
    """The task whose metric is evaluated and whose train split feeds calibration."""

    name: str = "rotten_tomatoes"
    data_dir: str | None = None
    """Folder with your own task files (GLUE-format TSV folder, SQuAD JSON folder)."""
    path: str | None = None
    """A single data file where the task has one (e.g. the Rotten Tomatoes CSV)."""
    source: str = "auto"
    """GLUE only: "files" (needs data_dir), "datasets" (the datasets library) or "auto"."""
    max_length: int = 128
    """Token length for calibration and evaluation encodings."""
    eval_batch_size: int = 64
    max_eval_examples: int | None = None
    """Evaluate on the first N dev examples only (None = the whole dev split)."""
    onnx_metric_tolerance: float = 0.005
    """Largest |metric(ORT) - metric(torch)| accepted when the exported model is evaluated."""
    device: str = "cpu"
    """Where PyTorch evaluates the metric ("cpu" or "cuda")."""

    def __post_init__(self) -> None:
        from harness.data.tasks import TASKS

        _require(self.name in TASKS, f"unknown task {self.name!r}; known tasks: {sorted(TASKS)}")
        _require(self.max_length >= 8, f"task.max_length must be >= 8, got {self.max_length}")
        _require(
            self.source in ("auto", "files", "datasets"),
            f"task.source must be auto, files or datasets, got {self.source!r}",
        )
        _require(self.eval_batch_size > 0, "task.eval_batch_size must be > 0")
        n = self.max_eval_examples
        _require(n is None or n > 0, f"task.max_eval_examples must be > 0, got {n}")
        _require(self.onnx_metric_tolerance >= 0, "task.onnx_metric_tolerance must be >= 0")
        _require(
            self.device in ("cpu", "cuda"), f"task.device must be cpu or cuda: {self.device!r}"
        )


@dataclass(frozen=True)
class CalibrationSection:
    """Calibration sample for pruning (spec §9: the reference uses 100K tokens)."""

    num_tokens: int = 20_000
    batch_size: int = 32
    max_length: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        _require(self.num_tokens > 0, f"calibration.num_tokens must be > 0, got {self.num_tokens}")
        _require(self.batch_size > 0, "calibration.batch_size must be > 0")
        _require(self.max_length >= 8, "calibration.max_length must be >= 8")


def _check_ratios(ratios: tuple[float, ...]) -> None:
    _require(len(ratios) > 0, "flops_ratios must not be empty")
    for ratio in ratios:
        _require(
            not math.isnan(ratio) and 0.0 < ratio <= 1.0,
            f"flops_ratios: {ratio!r} is outside (0, 1] (kept/original FLOPs; 0.6 keeps 60%)",
        )
    _require(len(set(ratios)) == len(ratios), f"flops_ratios has duplicates: {list(ratios)}")


@dataclass(frozen=True)
class BenchmarkConfig:
    """A whole sweep: model, task, methods x kept-FLOPs ratios x runtimes x batch x seq."""

    name: str
    description: str = ""
    model: ModelSection = field(default_factory=ModelSection)
    task: TaskSection = field(default_factory=TaskSection)
    methods: tuple[str, ...] = ("kprune",)
    flops_ratios: tuple[float, ...] = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2)
    """Kept/original FLOPs; 1.0 is the dense reference, measured once (method "dense")."""
    method_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per-method overrides of the method's config class, e.g. {"kprune": {"rep_weight": 1e-3}};
    written as a top-level TOML table `[kprune]` or `--set kprune.rep_weight=1e-3`."""
    calibration: CalibrationSection = field(default_factory=CalibrationSection)
    runtimes: tuple[RuntimeSpec, ...] = (
        RuntimeSpec("torch", threads=1),
        RuntimeSpec("onnxruntime", threads=1),
    )
    batch_sizes: tuple[int, ...] = (1, 8)
    seq_lens: tuple[int, ...] = (128,)
    timing: TimingSpec = field(default_factory=TimingSpec)
    isolate_backends: bool = False
    """Time each backend in its own process (measurement.md: needed with more than 1 thread)."""
    interleave_dense: bool = True
    """Time the dense model again, interleaved with each pruned trial, for its speedup."""
    evaluate: bool = True
    """Evaluate the task metric at every point (False for random-weight latency-only sweeps)."""
    export: bool = False
    """Export ONNX at every point even when no onnxruntime trial needs it."""
    seed: int = 0
    """Seeds torch/numpy once per sweep (random-weight models, runtime inputs)."""

    def __post_init__(self) -> None:
        _require(
            bool(NAME_PATTERN.match(self.name)),
            f"name {self.name!r} must match {NAME_PATTERN.pattern} (used in file names)",
        )
        _check_methods(self.methods)
        _check_ratios(self.flops_ratios)
        _require(len(self.runtimes) > 0, "runtimes must not be empty")
        names = [runtime.name for runtime in self.runtimes]  # threads are not part of trial keys
        _require(len(set(names)) == len(names), f"runtimes has duplicates: {names}")
        _positive_ints(self.batch_sizes, "batch_sizes")
        _positive_ints(self.seq_lens, "seq_lens")
        for method, options in self.method_options.items():
            check_method_options(method, options)


def method_config_classes() -> Mapping[str, type]:
    """kprune's method registry (name -> frozen config class); variants not included."""
    from kprune import METHOD_CONFIGS

    return METHOD_CONFIGS


def known_methods() -> list[str]:
    """Every pruning method and named variant (ablation) kprune offers."""
    from kprune import method_names

    return sorted(method_names())


def _check_methods(methods: tuple[str, ...]) -> None:
    known = known_methods()
    _require(len(methods) > 0, f"methods must not be empty; known methods: {known}")
    _require(len(set(methods)) == len(methods), f"methods has duplicates: {list(methods)}")
    for method in methods:
        _require(method in known, f"unknown method {method!r}; known methods: {known}")


def check_method_options(method: str, options: Mapping[str, Any]) -> None:
    """Build the method's config with these options so that its own validation runs."""
    from kprune import make_config

    known = known_methods()
    _require(method in known, f"unknown method {method!r}; known methods: {known}")
    _require(
        "target_flops_ratio" not in options,
        f"{method}.target_flops_ratio is set by the sweep; use flops_ratios instead",
    )
    try:
        make_config(method, **options)
    except (TypeError, ValueError) as error:  # an unknown keyword, or the method's own checks
        raise ConfigError(f"{method}: {error}") from error


def method_config(config: BenchmarkConfig, method: str, ratio: float) -> Any:
    """The method's own frozen config for one point of the sweep."""
    from kprune import METHOD_VARIANTS, make_config

    # A variant (e.g. kprune-no-tuning) inherits its base method's table, except the fields
    # the variant itself pins; its own table, if any, wins over both.
    base, pinned = METHOD_VARIANTS.get(method, (method, {}))
    inherited = {k: v for k, v in config.method_options.get(base, {}).items() if k not in pinned}
    options = (
        {**inherited, **config.method_options.get(method, {})} if base != method else inherited
    )
    return make_config(method, target_flops_ratio=ratio, **options)


# --- presets, TOML and `--set` overrides -------------------------------------------------------

PRESET_DIR = Path(__file__).with_name("presets")


def preset_names() -> list[str]:
    """Names of the bundled presets (harness/config/presets/*.toml)."""
    return sorted(path.stem for path in PRESET_DIR.glob("*.toml"))


def _resolve(path_or_name: str | Path) -> Path:
    path = Path(path_or_name)
    if path.suffix == ".toml" or path.exists():
        _require(path.is_file(), f"config file {str(path)!r} does not exist")
        return path
    preset = PRESET_DIR / f"{path_or_name}.toml"
    _require(
        preset.is_file(),
        f"unknown preset {str(path_or_name)!r}; presets: {', '.join(preset_names())} "
        "(or pass the path of a .toml file)",
    )
    return preset


def load_config(path_or_name: str | Path) -> BenchmarkConfig:
    """A preset name (`default`, `smoke`, ...) or a TOML file -> validated BenchmarkConfig."""
    path = _resolve(path_or_name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    data.setdefault("name", path.stem)
    return config_from_dict(data)


def config_from_dict(data: Mapping[str, Any]) -> BenchmarkConfig:
    """Inverse of `config_to_dict`; top-level tables named after a method are its options."""
    classes = method_config_classes()
    plain = {k: v for k, v in data.items() if k not in classes or k in _FIELDS}
    options = {k: _method_table(k, v) for k, v in data.items() if k in classes and k not in _FIELDS}
    _check_top_keys(plain, classes)
    merged = {**dict(plain.get("method_options", {})), **options}
    return typed.build(BenchmarkConfig, {**plain, "method_options": merged}, "", ConfigError)  # type: ignore[no-any-return]


def config_to_dict(config: BenchmarkConfig) -> dict[str, Any]:
    """Plain data (JSON/TOML-like) that `config_from_dict` turns back into the same config."""
    data = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    options = data.pop("method_options")
    plain = {k: typed.to_plain(v) for k, v in data.items()}
    return {**plain, **{method: dict(values) for method, values in options.items()}}


def _check_top_keys(data: Mapping[str, Any], classes: Mapping[str, type]) -> None:
    for key in data:
        _require(
            key in _FIELDS,
            f"unknown key {key!r}; allowed keys: {', '.join(_FIELDS)}; "
            f"method tables: {', '.join(sorted(classes))}",
        )


def _method_table(method: str, value: Any) -> dict[str, Any]:
    _require(isinstance(value, Mapping), f"{method} must be a table of {method} options")
    return {str(k): _method_value(method, str(k), v) for k, v in value.items()}


def _method_value(method: str, key: str, value: Any) -> Any:
    types_ = typed.field_types(method_config_classes()[method])
    _require(
        key in types_ and key != "target_flops_ratio",
        f"unknown key '{method}.{key}'; allowed keys: "
        f"{', '.join(k for k in types_ if k != 'target_flops_ratio')}",
    )
    return typed.coerce(value, types_[key], f"{method}.{key}", ConfigError)


def apply_overrides(config: BenchmarkConfig, overrides: Sequence[str]) -> BenchmarkConfig:
    """Apply `key=value` overrides (`timing.min_iters=50`, `flops_ratios=[1.0,0.5]`,
    `kprune.rep_weight=1e-3`, `runtimes.threads=2` for every runtime, `runtimes.0.threads=2`);
    values are read as TOML, then the whole config is rebuilt and validated once."""
    data = config_to_dict(config)
    for item in overrides:
        key, sep, raw = item.partition("=")
        path = key.strip().split(".")
        _require(bool(sep) and all(path), f"override {item!r} is not of the form key=value")
        typed.set_in(data, path, typed.parse_value(raw), ConfigError)
    return config_from_dict(data)


_FIELDS = tuple(f.name for f in dataclasses.fields(BenchmarkConfig))
