"""Read the Lee background corpus: one news article per line, in file order.

Never writes anything; blank lines are skipped.
"""

from __future__ import annotations

from pathlib import Path


def read_articles(path: Path) -> tuple[str, ...]:
    """The non-empty lines of `path` (UTF-8), stripped, in file order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip())
