"""Presets by name, TOML files and typed `--set key=value` overrides -> one validated
`BenchmarkConfig`, and back to plain data (what a results file embeds).

The only module that reads config files. Names that live in other registries (tasks) are checked
here, so that the schema itself imports no loaders.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.config import coerce as typed
from harness.config.methods import method_config_classes
from harness.config.schema import BenchmarkConfig, require
from harness.errors import ConfigError

PRESET_DIR = Path(__file__).with_name("presets")


def preset_names() -> list[str]:
    """Names of the bundled presets (harness/config/presets/*.toml)."""
    return sorted(path.stem for path in PRESET_DIR.glob("*.toml"))


def _resolve(path_or_name: str | Path) -> Path:
    path = Path(path_or_name)
    if path.suffix == ".toml" or path.exists():
        require(path.is_file(), f"config file {str(path)!r} does not exist")
        return path
    preset = PRESET_DIR / f"{path_or_name}.toml"
    require(
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
        raise ConfigError(
            f"{path}: not valid TOML: {error}; fix the TOML syntax there (quoted strings, "
            "closed [brackets], one key = value per line; the presets in "
            "harness/config/presets/ are examples)"
        ) from error
    data.setdefault("name", path.stem)
    return config_from_dict(data)


def config_from_dict(data: Mapping[str, Any]) -> BenchmarkConfig:
    """Inverse of `config_to_dict`; top-level tables named after a method are its options."""
    classes = method_config_classes()
    plain = {k: v for k, v in data.items() if k not in classes or k in _FIELDS}
    options = {k: _method_table(k, v) for k, v in data.items() if k in classes and k not in _FIELDS}
    _check_top_keys(plain, classes)
    merged = {**dict(plain.get("method_options", {})), **options}
    config: BenchmarkConfig = typed.build(
        BenchmarkConfig, {**plain, "method_options": merged}, "", ConfigError
    )
    _check_task_name(config.task.name)
    return config


def _check_task_name(name: str) -> None:
    from harness.data.tasks import TASKS  # the task registry; loaders import lazily inside

    require(name in TASKS, f"unknown task {name!r}; known tasks: {sorted(TASKS)}")


def config_to_dict(config: BenchmarkConfig) -> dict[str, Any]:
    """Plain data (JSON/TOML-like) that `config_from_dict` turns back into the same config."""
    data = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    options = data.pop("method_options")
    plain = {k: typed.to_plain(v) for k, v in data.items()}
    return {**plain, **{method: dict(values) for method, values in options.items()}}


def _check_top_keys(data: Mapping[str, Any], classes: Mapping[str, type]) -> None:
    for key in data:
        require(
            key in _FIELDS,
            f"unknown key {key!r}; allowed keys: {', '.join(_FIELDS)}; "
            f"method tables: {', '.join(sorted(classes))}",
        )


def _method_table(method: str, value: Any) -> dict[str, Any]:
    require(isinstance(value, Mapping), f"{method} must be a table of {method} options")
    return {str(k): _method_value(method, str(k), v) for k, v in value.items()}


def _method_value(method: str, key: str, value: Any) -> Any:
    types_ = typed.field_types(method_config_classes()[method])
    require(
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
        require(bool(sep) and all(path), f"override {item!r} is not of the form key=value")
        typed.set_in(data, path, typed.parse_value(raw), ConfigError)
    return config_from_dict(data)


_FIELDS = tuple(f.name for f in dataclasses.fields(BenchmarkConfig))
