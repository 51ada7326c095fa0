"""Task registry: a task name maps to the loader that turns a `TaskSpec` into `TaskData`.

Where bytes come from (assets, local files, `datasets`) is each loader's business; this file
only dispatches, through the one `TASKS` dict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.config.schema import TaskSpec
from harness.data.tasks import (
    glue,
    newsgroups,
    reuters,
    rotten_tomatoes,
    squad,
    synthetic,
    text_table,
)
from harness.data.tasks.base import (
    DatasetsUnavailableError,
    EmptySplitError,
    Example,
    LabelMismatchError,
    QAExample,
    TaskData,
    TaskFormatError,
    TaskKind,
    TextExample,
    UnknownTaskError,
)

Loader = Callable[[TaskSpec], TaskData]

TASKS: dict[str, Loader] = {
    "rotten_tomatoes": rotten_tomatoes.load,
    "reuters_r8": reuters.load,
    "20newsgroups": newsgroups.load,
    **{name: glue.load for name in glue.GLUE_TASKS},
    **{name: squad.load for name in squad.FILE_NAMES},
    synthetic.NAME: synthetic.load,
    text_table.NAME: text_table.load,
}


TOKENIZER_FALLBACKS: dict[str, Callable[[], Any]] = {synthetic.NAME: synthetic.tokenizer}
"""Task -> the tokenizer used for models that ship none (random weights)."""


def load_task(spec: TaskSpec) -> TaskData:
    """Load the train and dev splits of `spec.name`; both are checked to be non-empty."""
    if spec.name not in TASKS:
        raise UnknownTaskError(f"unknown task {spec.name!r}; known tasks: {sorted(TASKS)}")
    return TASKS[spec.name](spec)


__all__ = [
    "TASKS",
    "TOKENIZER_FALLBACKS",
    "DatasetsUnavailableError",
    "EmptySplitError",
    "Example",
    "LabelMismatchError",
    "Loader",
    "QAExample",
    "TaskData",
    "TaskFormatError",
    "TaskKind",
    "TaskSpec",
    "TextExample",
    "UnknownTaskError",
    "load_task",
]
