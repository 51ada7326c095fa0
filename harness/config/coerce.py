"""Typed construction of frozen dataclasses from plain data (TOML tables, `--set` values).

Generic and pure: values are checked and coerced against the dataclass type hints; an unknown
key raises naming the key and listing the allowed ones. Knows nothing about benchmark sections.
"""

from __future__ import annotations

import dataclasses
import logging
import tomllib
import types
import typing
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

ErrorType = type[Exception]
NONE_WORDS = frozenset({"none", "null"})


def parse_value(raw: str) -> Any:
    """A `--set` value read as TOML (`50`, `1e-3`, `false`, `[1.0, 0.5]`), else the bare string."""
    try:
        return tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return raw.strip()


def field_types(cls: type) -> dict[str, Any]:
    """Resolved type hints of a dataclass's init fields, in declaration order."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(value: Any, tp: Any, key: str, error: ErrorType) -> Any:
    """`value` checked against `tp` (int -> float, list -> tuple, table -> dataclass)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(value, typing.get_args(tp), key, error)
    if origin is typing.Literal:
        if value in typing.get_args(tp):
            return value
        raise error(f"{key}: {value!r} is not one of {list(typing.get_args(tp))}")
    if origin is tuple:
        return _coerce_tuple(value, typing.get_args(tp), key, error)
    if origin is not None and issubclass(origin, Mapping):
        if isinstance(value, Mapping):
            return {str(k): v for k, v in value.items()}
        raise error(f"{key}: expected a table, got {value!r}")
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if isinstance(value, Mapping):
            return build(tp, value, f"{key}.", error)
        raise error(f"{key}: expected a table of {type_name(tp)} fields, got {value!r}")
    return _coerce_scalar(value, tp, key, error)


def _coerce_scalar(value: Any, tp: Any, key: str, error: ErrorType) -> Any:
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp in (bool, str) and isinstance(value, tp):
        return value
    if tp is type(None) and value is None:
        return None
    raise error(f"{key}: expected {type_name(tp)}, got {value!r}")


def _coerce_union(value: Any, arms: tuple[Any, ...], key: str, error: ErrorType) -> Any:
    if type(None) in arms and (value is None or str(value).lower() in NONE_WORDS):
        return None
    problems = []
    for arm in (a for a in arms if a is not type(None)):
        try:
            return coerce(value, arm, key, error)
        except error as problem:  # try the next arm; the last failure is reported below
            problems.append(str(problem))
    raise error(f"{key}: {value!r} fits none of {[type_name(a) for a in arms]} ({problems[-1]})")


def _coerce_tuple(value: Any, args: tuple[Any, ...], key: str, error: ErrorType) -> Any:
    if not isinstance(value, list | tuple):
        value = [value]  # a scalar for a one-element sweep: `batch_sizes=8`
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(coerce(item, args[0], f"{key}[{i}]", error) for i, item in enumerate(value))
    if len(args) != len(value):
        raise error(f"{key}: expected {len(args)} items, got {len(value)}")
    pairs = enumerate(zip(value, args, strict=True))
    return tuple(coerce(item, arm, f"{key}[{i}]", error) for i, (item, arm) in pairs)


def check_keys(cls: type, data: Mapping[str, Any], prefix: str, error: ErrorType) -> None:
    """Raise naming the first unknown key and listing the allowed ones."""
    allowed = list(field_types(cls))
    for key in data:
        if key not in allowed:
            raise error(f"unknown key '{prefix}{key}'; allowed keys: {', '.join(allowed)}")


def build(cls: type, data: Mapping[str, Any], prefix: str, error: ErrorType) -> Any:
    """An instance of dataclass `cls` from a table; missing keys keep the class defaults."""
    check_keys(cls, data, prefix, error)
    types_ = field_types(cls)
    kwargs = {k: coerce(v, types_[k], f"{prefix}{k}", error) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except error:
        raise
    except (TypeError, ValueError) as problem:  # a missing field, or the class's own validation
        raise error(f"{prefix.rstrip('.') or type_name(cls)}: {problem}") from problem


def set_in(data: dict[str, Any], path: list[str], value: Any, error: ErrorType) -> None:
    """Set dotted `path` in plain nested data (tables and lists of tables), in place.

    A list of tables takes an index (`runtimes.1.threads`) or applies to every item
    (`runtimes.threads`). Unknown keys are left for `build` to report with the allowed ones.
    """
    head, rest = path[0], path[1:]
    if not rest:
        data[head] = value
        return
    child = data.setdefault(head, {})
    if isinstance(child, dict):
        set_in(child, rest, value, error)
    elif isinstance(child, list) and child and all(isinstance(c, dict) for c in child):
        _set_in_items(child, head, rest, value, error)
    else:
        raise error(f"{head} has no sub-keys (got {'.'.join(path)!r})")


def _set_in_items(
    items: list[dict[str, Any]], head: str, path: list[str], value: Any, error: ErrorType
) -> None:
    if not path[0].isdigit():
        for item in items:
            set_in(item, path, value, error)
        return
    index = int(path[0])
    _check(error, index < len(items), f"{head}.{index}: index out of range (0..{len(items) - 1})")
    _check(error, len(path) > 1, f"{head}.{index}: name a field, e.g. {head}.{index}.threads")
    set_in(items[index], path[1:], value, error)


def to_plain(value: Any) -> Any:
    """Nested dataclasses -> dicts and tuples -> lists (JSON/TOML-shaped data)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [to_plain(item) for item in value]
    return value


def _check(error: ErrorType, condition: bool, message: str) -> None:
    if not condition:
        raise error(message)
