"""Atomic file writes: a temp file in the target folder, then `os.replace` (readers never see a
half-written file) or `os.link` (a numbered file is never taken twice, even by a parallel writer).

Knows nothing about what the files contain.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

_NUMBERED = re.compile(r"^(\d{4})_")


def _temp_with(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def replace_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (replacing any previous version)."""
    tmp = _temp_with(path.parent, path.name, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def next_number(folder: Path, suffix: str) -> int:
    """1 + the largest NNNN of ``NNNN_*<suffix>`` files in ``folder`` (1 when none)."""
    numbers = [
        int(match.group(1))
        for p in folder.glob(f"*{suffix}")
        if (match := _NUMBERED.match(p.name)) is not None
    ]
    return max(numbers, default=0) + 1


def create_numbered(folder: Path, name_for: Callable[[int], str], text: str) -> Path:
    """Create ``folder/name_for(n)`` with the next free number n; never overwrites a file."""
    suffix = Path(name_for(0)).suffix
    tmp = _temp_with(folder, "new" + suffix, text)
    try:
        number = next_number(folder, suffix)
        while True:
            path = folder / name_for(number)
            try:
                os.link(tmp, path)
                return path
            except FileExistsError:
                number += 1
    finally:
        tmp.unlink(missing_ok=True)
