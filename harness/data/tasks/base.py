"""Task data types shared by every loader: examples, `TaskData` and task errors (the `TaskSpec`
that says which task to load is the config schema's).

Holds no file formats and no tokenization; loaders in sibling modules produce these types.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness.errors import UsageError

log = logging.getLogger(__name__)

TaskKind = Literal["classification", "regression", "qa", "causal_lm"]
"""causal_lm: a decoder scored by perplexity (`BenchmarkConfig.language_model`), no task data."""


class UnknownTaskError(UsageError):
    """The task name is not in the registry."""


class EmptySplitError(UsageError):
    """A split that a stage needs has no examples."""


class TaskFormatError(UsageError):
    """A data file does not follow the format its task expects (columns, labels, JSON keys)."""


class DatasetsUnavailableError(UsageError):
    """The optional `datasets` library is needed but not installed."""


class LabelMismatchError(UsageError):
    """A model head's number of outputs does not match the task's labels."""


@dataclass(frozen=True)
class TextExample:
    """A sentence (or sentence pair) with a class index (classification) or a float (regression)."""

    text: str
    label: int | float
    text_pair: str | None = None


@dataclass(frozen=True)
class QAExample:
    """An extractive QA example; `answer_starts` are character offsets into `context`."""

    id: str
    question: str
    context: str
    answer_texts: tuple[str, ...]
    answer_starts: tuple[int, ...]
    is_impossible: bool = False


Example = TextExample | QAExample


@dataclass(frozen=True)
class TaskData:
    """A loaded task: train and dev examples plus what the labels mean."""

    name: str
    kind: TaskKind
    label_names: tuple[str, ...]
    train: tuple[Example, ...]
    dev: tuple[Example, ...]

    def __post_init__(self) -> None:
        if self.kind == "classification" and len(self.label_names) < 2:
            raise ValueError(f"classification task {self.name} needs >= 2 label names")

    @property
    def num_labels(self) -> int:
        """Model head outputs: classes, 1 for regression, 2 (start/end) for QA."""
        if self.kind == "classification":
            return len(self.label_names)
        return 1 if self.kind == "regression" else 2


def require_examples(examples: Sized, task: str, split: str, where: str) -> None:
    """Raise EmptySplitError when a split has no examples; `where` names the source."""
    if len(examples) == 0:
        raise EmptySplitError(f"task {task!r}: split {split!r} is empty (read from {where})")


def label_index(raw: str, raw_labels: Sequence[str], where: str) -> int:
    """Index of a raw label string; TaskFormatError naming the file/line otherwise."""
    try:
        return list(raw_labels).index(raw)
    except ValueError:
        raise TaskFormatError(f"{where}: label {raw!r} is not one of {list(raw_labels)}") from None


def unreadable(path: Path, error: UnicodeDecodeError | OSError) -> TaskFormatError:
    """The TaskFormatError for a data file that cannot be read or is not UTF-8 text."""
    if isinstance(error, UnicodeDecodeError):
        byte = error.object[error.start : error.start + 1].hex()
        return TaskFormatError(
            f"{path} is not UTF-8 text (byte 0x{byte}: {error.reason}); re-save it as UTF-8, "
            "e.g. iconv -f latin1 -t utf-8 IN > OUT"
        )
    return TaskFormatError(
        f"{path} cannot be read ({error.strerror or error}); check the path and its permissions"
    )


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """The whole text of a data file; TaskFormatError naming it when unreadable or not UTF-8."""
    try:
        return path.read_text(encoding=encoding)
    except (UnicodeDecodeError, OSError) as error:
        raise unreadable(path, error) from error
