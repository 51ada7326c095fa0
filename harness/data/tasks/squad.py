"""SQuAD v1.1 / v2.0-format JSON files for extractive QA (`squad`, `squad_v2`).

Reads files only; feature building (offsets, doc stride) lives in harness/encoding.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from harness.config.schema import TaskSpec
from harness.data.tasks.base import (
    QAExample,
    TaskData,
    TaskFormatError,
    read_text,
    require_examples,
)

log = logging.getLogger(__name__)

FILE_NAMES = {
    "squad": ("train-v1.1.json", "dev-v1.1.json"),
    "squad_v2": ("train-v2.0.json", "dev-v2.0.json"),
}


def _question(qa: dict[str, Any], context: str) -> QAExample:
    answers = qa.get("answers", [])
    return QAExample(
        id=str(qa["id"]),
        question=qa["question"].strip(),
        context=context,
        answer_texts=tuple(a["text"] for a in answers),
        answer_starts=tuple(int(a["answer_start"]) for a in answers),
        is_impossible=bool(qa.get("is_impossible", False)) or not answers,
    )


def read_squad_json(path: Path) -> list[QAExample]:
    """All questions of a SQuAD-format file, in file order."""
    if not path.is_file():
        raise TaskFormatError(f"SQuAD file not found: {path}")
    try:
        articles = json.loads(read_text(path))["data"]
        return [
            _question(qa, paragraph["context"])
            for article in articles
            for paragraph in article["paragraphs"]
            for qa in paragraph["qas"]
        ]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise TaskFormatError(
            f"{path}: not SQuAD-format JSON ({error!r}); expected SQuAD v1.1/v2.0 files: "
            '{"data": [{"paragraphs": [{"context": ..., "qas": [{"id", "question", "answers"}]}]}]}'
        ) from error


def load(spec: TaskSpec) -> TaskData:
    """Load train/dev from `spec.data_dir` with the standard SQuAD file names."""
    if spec.data_dir is None:
        names = " and ".join(FILE_NAMES[spec.name])
        raise TaskFormatError(f"task {spec.name!r} needs data_dir holding {names}")
    folder = Path(spec.data_dir)
    train_name, dev_name = FILE_NAMES[spec.name]
    train = read_squad_json(folder / train_name)
    dev = read_squad_json(folder / dev_name)
    require_examples(train, spec.name, "train", str(folder / train_name))
    require_examples(dev, spec.name, "dev", str(folder / dev_name))
    log.info("%s: %d train / %d dev questions from %s", spec.name, len(train), len(dev), folder)
    return TaskData(spec.name, "qa", (), tuple(train), tuple(dev))
