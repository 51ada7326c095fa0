"""Read your own text file: UTF-8, articles separated by one or more blank lines, in file order.

Never writes anything; an undecodable file is a usage error naming it.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.errors import UsageError


class TextFileError(UsageError):
    """A text file that cannot be read as UTF-8 or holds no text."""


def read_articles(path: Path) -> tuple[str, ...]:
    """The blank-line-separated paragraphs of `path`, stripped, empty ones dropped."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise TextFileError(
            f"{path} is not UTF-8 text ({error}); convert it, e.g. iconv -t UTF-8"
        ) from error
    articles = tuple(a.strip() for a in re.split(r"\n\s*\n", text) if a.strip())
    if not articles:
        raise TextFileError(f"{path} holds no text; name a file with at least one paragraph")
    return articles
