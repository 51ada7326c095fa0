"""Your own labelled text as a task: a CSV, TSV, JSON Lines or Parquet table read with pandas,
the text, pair and label columns named in `TaskSpec` (train + dev files, or one seeded split).

Knows table files and columns only; pandas is imported when a table is read, not at import.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.config.schema import TaskSpec
from harness.data.tasks.base import (
    EmptySplitError,
    TaskData,
    TaskFormatError,
    TextExample,
    require_examples,
    unreadable,
)
from harness.errors import ConfigError, UsageError

log = logging.getLogger(__name__)

NAME = "text_table"
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zip", ".zst")
"""Stripped before the format suffix (`train.csv.gz` is CSV); pandas decompresses them."""
_INTEGER = re.compile(r"^[+-]?\d+$")


class ParquetUnavailableError(UsageError):
    """A Parquet file is to be read but neither pyarrow nor fastparquet is installed."""


@dataclass(frozen=True)
class TableRow:
    """One checked row: its 1-based data-row number (after any header), texts and raw label
    (the class as written, or the float target)."""

    number: int
    text: str
    text_pair: str | None
    label: str | float


def table_format(path: Path, spec: TaskSpec) -> str:
    """`spec.format`, or the format its suffix names; TaskFormatError for an unknown suffix."""
    if spec.format != "auto":
        return spec.format
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes.pop()
    suffix = suffixes[-1] if suffixes else ""
    if suffix not in SUFFIX_FORMATS:
        raise TaskFormatError(
            f"{path}: cannot tell the table format from suffix {suffix or '(none)'!r}; name the "
            f"file {'/'.join(SUFFIX_FORMATS)} or set task.format to csv, tsv, jsonl or parquet"
        )
    return SUFFIX_FORMATS[suffix]


def _first_bad_json_line(path: Path) -> str:
    """Where JSON Lines parsing fails (pandas does not say); '' when every line parses."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                if line.strip():
                    json.loads(line)
            except json.JSONDecodeError as error:
                return f" at line {number} ({error.msg}: {line.strip()[:80]!r})"
    return ""


def _read_parquet(pd: Any, path: Path) -> Any:
    try:
        return pd.read_parquet(path)
    except ImportError as error:
        raise ParquetUnavailableError(
            f"{path}: reading Parquet needs pyarrow (pandas found no Parquet engine); "
            "pip install pyarrow, or save the table as CSV, TSV or JSON Lines"
        ) from error


def read_table(path: Path, fmt: str) -> Any:
    """The whole file as a pandas DataFrame; csv/tsv cells stay strings as written."""
    import pandas as pd  # heavy: only a text_table load pays for it

    try:
        if fmt == "parquet":
            return _read_parquet(pd, path)
        if fmt == "jsonl":
            return pd.read_json(path, lines=True, dtype=False, convert_dates=False)
        sep = "\t" if fmt == "tsv" else ","
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    except (UnicodeDecodeError, OSError) as error:
        raise unreadable(path, error) from error
    except pd.errors.EmptyDataError as error:
        raise EmptySplitError(f"{path} is empty (no header, no rows)") from error
    except ValueError as error:  # pandas' ParserError, bad JSON, pyarrow's ArrowInvalid
        where = _first_bad_json_line(path) if fmt == "jsonl" else ""
        problem = str(error).strip()
        raise TaskFormatError(f"{path} is not a valid {fmt} table{where}: {problem}") from error


def _check_columns(frame: Any, path: Path, spec: TaskSpec) -> None:
    names = [str(column) for column in frame.columns]
    wanted = {"text_column": spec.text_column, "label_column": spec.label_column}
    if spec.text_pair_column is not None:
        wanted["text_pair_column"] = spec.text_pair_column
    for key, column in wanted.items():
        if column not in names:
            raise TaskFormatError(
                f"{path}: no column {column!r} (task.{key}); its columns are {names}"
            )


def _text(value: Any, missing: bool, where: str, column: str) -> str:
    if missing or (isinstance(value, str) and not value.strip()):
        raise TaskFormatError(f"{where}: text column {column!r} is empty or null; fill or drop it")
    if not isinstance(value, str):
        raise TaskFormatError(
            f"{where}: column {column!r} holds {value!r} ({type(value).__name__}), not text; "
            "is task.text_column / task.text_pair_column the right column?"
        )
    return value


def _label_text(value: Any) -> str:
    """A class label as written: JSON/Parquet numbers without a spurious '.0'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _label(value: Any, missing: bool, where: str, spec: TaskSpec) -> str | float:
    column = spec.label_column
    if missing:
        raise TaskFormatError(f"{where}: label column {column!r} is empty or null")
    if spec.kind == "classification":
        label = _label_text(value)
        if spec.labels is not None and label not in spec.labels:
            raise TaskFormatError(
                f"{where}: label {label!r} is not one of task.labels {spec.labels}"
            )
        return label
    try:
        target = float(value)
    except (TypeError, ValueError):
        target = float("nan")
    if isinstance(value, bool) or not math.isfinite(target):
        raise TaskFormatError(
            f"{where}: regression target {value!r} in column {column!r} is not a finite number"
        )
    return target


def read_rows(path: Path, spec: TaskSpec) -> list[TableRow]:
    """Every row of one table, checked; a bad row's error names its number and value."""
    if not path.is_file():
        raise TaskFormatError(f"data file not found: {path}")
    fmt = table_format(path, spec)
    frame = read_table(path, fmt)
    _check_columns(frame, path, spec)
    text, pair, label = spec.text_column, spec.text_pair_column, spec.label_column
    columns = [text, label] + ([pair] if pair is not None else [])
    values = {c: frame[c].tolist() for c in columns}
    nulls = {c: frame[c].isna().tolist() for c in columns}
    counting = "1-based, after the header" if fmt in ("csv", "tsv") else "1-based"
    rows = []
    for i in range(len(frame)):
        where = f"{path}: data row {i + 1} ({counting})"
        first = _text(values[text][i], nulls[text][i], where, text)
        second = None if pair is None else _text(values[pair][i], nulls[pair][i], where, pair)
        rows.append(
            TableRow(i + 1, first, second, _label(values[label][i], nulls[label][i], where, spec))
        )
    return rows


def split_rows(
    rows: Sequence[TableRow], fraction: float, seed: int
) -> tuple[list[TableRow], list[TableRow]]:
    """(train, dev): a seeded permutation picks round(fraction x rows) dev rows; both keep the
    file's order. EmptySplitError when either side would be empty."""
    count = round(len(rows) * fraction)
    if not 0 < count < len(rows):
        raise EmptySplitError(
            f"task.dev_fraction {fraction} of {len(rows)} rows leaves a split empty "
            f"({count} dev rows); add rows or change task.dev_fraction"
        )
    dev_index = set(np.random.default_rng(seed).permutation(len(rows))[:count].tolist())
    train = [row for i, row in enumerate(rows) if i not in dev_index]
    return train, [row for i, row in enumerate(rows) if i in dev_index]


def _sorted_labels(labels: set[str]) -> tuple[str, ...]:
    if all(_INTEGER.match(label) for label in labels):
        return tuple(sorted(labels, key=int))
    return tuple(sorted(labels))


def class_names(
    train: Sequence[TableRow], dev: Sequence[TableRow], spec: TaskSpec, where: str
) -> tuple[str, ...]:
    """`spec.labels`, else the train labels sorted; every dev label must be among them."""
    seen = {str(row.label) for row in train}
    if spec.labels is not None:
        absent = [label for label in spec.labels if label not in seen]
        if absent:
            log.warning("%s: task.labels %s never occur in train", where, absent)
        return spec.labels
    names = _sorted_labels(seen)
    fractional = [label for label in names if _is_fractional(label)]
    if fractional:
        raise TaskFormatError(
            f"{where}: label column {spec.label_column!r} holds non-integer numbers "
            f"({fractional[:3]}); for a float target set task.kind = 'regression', for "
            "classes list them in task.labels"
        )
    if len(names) < 2:
        raise TaskFormatError(f"{where}: train has a single class {names}; need >= 2")
    unseen = [row for row in dev if row.label not in seen]
    if unseen:
        raise TaskFormatError(
            f"{where}: dev row {unseen[0].number} has label {unseen[0].label!r}, which never "
            f"occurs in train; dev-only labels {sorted({str(r.label) for r in unseen})}, train "
            f"labels {list(names)} (or list every class in task.labels)"
        )
    return names


def _is_fractional(label: str) -> bool:
    """Whether a label reads as a finite number with a fraction ('0.5'; not '3', 'pos')."""
    try:
        value = float(label)
    except ValueError:
        return False
    return math.isfinite(value) and not value.is_integer()


def _sources(spec: TaskSpec) -> tuple[list[TableRow], list[TableRow], str]:
    """(train rows, dev rows, where they came from); each split checked to be non-empty."""
    if spec.train_path is not None and spec.dev_path is not None:
        train = read_rows(Path(spec.train_path), spec)
        require_examples(train, spec.name, "train", spec.train_path)
        dev = read_rows(Path(spec.dev_path), spec)
        require_examples(dev, spec.name, "dev", spec.dev_path)
        return train, dev, f"{spec.train_path} + {spec.dev_path}"
    if spec.path is None:
        raise ConfigError(
            f"task {NAME!r} needs task.train_path + task.dev_path, or task.path (one file, "
            "split by task.dev_fraction and task.split_seed)"
        )
    rows = read_rows(Path(spec.path), spec)
    require_examples(rows, spec.name, "train", spec.path)
    train, dev = split_rows(rows, spec.dev_fraction, spec.split_seed)
    return (
        train,
        dev,
        f"{spec.path} (split_seed {spec.split_seed}, dev_fraction {spec.dev_fraction})",
    )


def load(spec: TaskSpec) -> TaskData:
    """Read the table(s), check every row, map labels to class indices (or float targets)."""
    train_rows, dev_rows, where = _sources(spec)
    names: tuple[str, ...] = ()
    if spec.kind == "classification":
        names = class_names(train_rows, dev_rows, spec, where)
    index = {name: i for i, name in enumerate(names)}

    def example(row: TableRow) -> TextExample:
        label = index[str(row.label)] if names else float(row.label)
        return TextExample(row.text, label, row.text_pair)

    train, dev = tuple(map(example, train_rows)), tuple(map(example, dev_rows))
    what = f"classes {list(names)}" if names else f"regression on {spec.label_column!r}"
    log.info("%s: %d train / %d dev from %s; %s", spec.name, len(train), len(dev), where, what)
    return TaskData(spec.name, spec.kind, names, train, dev)
