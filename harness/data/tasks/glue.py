"""GLUE tasks: column conventions, local GLUE-format TSV folders, and the `datasets` library.

`datasets` is optional and imported only when asked for; the TSV path needs nothing extra.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config.schema import TaskSpec
from harness.data.tasks.base import (
    DatasetsUnavailableError,
    TaskData,
    TaskFormatError,
    TaskKind,
    TextExample,
    label_index,
    read_text,
    require_examples,
)

log = logging.getLogger(__name__)

HUB_DATASET = "nyu-mll/glue"


@dataclass(frozen=True)
class GlueTask:
    """One GLUE task's layout: TSV columns (names, or indices when headerless) and hub fields."""

    label_names: tuple[str, ...]
    raw_labels: tuple[str, ...]  # label strings as written in the TSV, in label_names order
    tsv_columns: tuple[str | int, str | int | None, str | int]  # text, pair, label
    hub_fields: tuple[str, str | None] = ("sentence", None)
    kind: TaskKind = "classification"
    dev_file: str = "dev.tsv"
    hub_dev_split: str = "validation"


_BINARY = ("0", "1")
_NLI2 = ("entailment", "not_entailment")
_NLI3 = ("entailment", "neutral", "contradiction")
_S12 = ("sentence1", "sentence2")
_Q12 = ("question1", "question2")
GLUE_TASKS: dict[str, GlueTask] = {
    "sst2": GlueTask(("negative", "positive"), _BINARY, ("sentence", None, "label")),
    "cola": GlueTask(("unacceptable", "acceptable"), _BINARY, (3, None, 1)),
    "mrpc": GlueTask(
        ("not_equivalent", "equivalent"), _BINARY, ("#1 String", "#2 String", "Quality"), _S12
    ),
    "qqp": GlueTask(("not_duplicate", "duplicate"), _BINARY, (*_Q12, "is_duplicate"), _Q12),
    "stsb": GlueTask((), (), (*_S12, "score"), _S12, kind="regression"),
    "mnli": GlueTask(
        _NLI3,
        _NLI3,
        (*_S12, "gold_label"),
        ("premise", "hypothesis"),
        dev_file="dev_matched.tsv",
        hub_dev_split="validation_matched",
    ),
    "qnli": GlueTask(_NLI2, _NLI2, ("question", "sentence", "label"), ("question", "sentence")),
    "rte": GlueTask(_NLI2, _NLI2, (*_S12, "label"), _S12),
    "wnli": GlueTask(("not_entailment", "entailment"), _BINARY, (*_S12, "label"), _S12),
}


def _column(header: list[str] | None, column: str | int, path: Path) -> int:
    if isinstance(column, int):
        return column
    if header is None or column not in header:
        raise TaskFormatError(
            f"{path}: header lacks column {column!r} (header: {header}); add it, or point "
            "task.data_dir at a GLUE-format folder of this task"
        )
    return header.index(column)


def _parse_label(task: GlueTask, raw: str, where: str) -> int | float:
    if task.kind == "regression":
        try:
            return float(raw)
        except ValueError:
            raise TaskFormatError(f"{where}: score {raw!r} is not a number") from None
    return label_index(raw, task.raw_labels, where)


def read_tsv(path: Path, task: GlueTask) -> list[TextExample]:
    """Examples of one GLUE-format TSV (no quoting: GLUE texts contain bare quotes)."""
    if not path.is_file():
        raise TaskFormatError(
            f"GLUE file not found: {path}; set task.data_dir to a GLUE-format folder holding "
            f"train.tsv and {task.dev_file}"
        )
    lines = read_text(path, encoding="utf-8-sig").splitlines()
    text_column, pair_column, label_column = task.tsv_columns
    has_header = not isinstance(text_column, int)
    header = lines[0].split("\t") if has_header and lines else None
    text_i = _column(header, text_column, path)
    label_i = _column(header, label_column, path)
    pair_i = None if pair_column is None else _column(header, pair_column, path)
    needed = max(text_i, label_i, -1 if pair_i is None else pair_i) + 1
    examples = []
    first = 1 if has_header else 0
    for number, line in enumerate(lines[first:], start=first + 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < needed:
            raise TaskFormatError(f"{path}:{number}: {len(fields)} columns, need {needed}")
        label = _parse_label(task, fields[label_i], f"{path}:{number}")
        pair = None if pair_i is None else fields[pair_i]
        examples.append(TextExample(fields[text_i], label, pair))
    return examples


def _rows_to_examples(rows: Iterable[Mapping[str, Any]], task: GlueTask) -> list[TextExample]:
    text_field, pair_field = task.hub_fields
    return [
        TextExample(
            text=row[text_field],
            label=float(row["label"]) if task.kind == "regression" else int(row["label"]),
            text_pair=None if pair_field is None else row[pair_field],
        )
        for row in rows
    ]


def uses_files(spec: TaskSpec) -> bool:
    """Whether a GLUE task reads local TSV files (else the `datasets` library fetches it)."""
    return spec.source == "files" or (spec.source == "auto" and spec.data_dir is not None)


def datasets_library(spec: TaskSpec) -> Any:
    """The `datasets` module; DatasetsUnavailableError with the way out when not installed."""
    try:
        return importlib.import_module("datasets")
    except ImportError:
        raise DatasetsUnavailableError(
            f"GLUE task {spec.name!r} without data_dir needs the `datasets` library: "
            "pip install datasets (or pass data_dir with GLUE-format train.tsv/dev.tsv files)"
        ) from None


def _from_datasets(spec: TaskSpec, task: GlueTask) -> tuple[list[TextExample], ...]:
    loaded = datasets_library(spec).load_dataset(HUB_DATASET, spec.name)
    return (
        _rows_to_examples(loaded["train"], task),
        _rows_to_examples(loaded[task.hub_dev_split], task),
    )


def load(spec: TaskSpec) -> TaskData:
    """Load a GLUE task from `spec.data_dir` (TSV) or, without one, through `datasets`."""
    task = GLUE_TASKS[spec.name]
    if uses_files(spec):
        if spec.data_dir is None:
            raise TaskFormatError(f"GLUE task {spec.name!r} with source='files' needs data_dir")
        folder = Path(spec.data_dir)
        train, dev = read_tsv(folder / "train.tsv", task), read_tsv(folder / task.dev_file, task)
        where = spec.data_dir
    else:
        train, dev = _from_datasets(spec, task)
        where = f"datasets:{HUB_DATASET}/{spec.name}"
    require_examples(train, spec.name, "train", where)
    require_examples(dev, spec.name, "dev", where)
    log.info("%s: %d train / %d dev from %s", spec.name, len(train), len(dev), where)
    return TaskData(spec.name, task.kind, task.label_names, tuple(train), tuple(dev))
