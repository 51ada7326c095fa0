"""Plain texts for causal-LM evaluation and calibration: a name maps to (asset, reader).

Where bytes come from is the asset registry (`harness.data.assets`); how a file becomes a list
of articles is each reader's business. The asset packages are never imported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.data.assets import locate_asset
from harness.data.texts import lee, plain, wikipedia
from harness.errors import UsageError

ARTICLE_SEPARATOR = "\n\n"


class UnknownTextError(UsageError):
    """A text name that is not in `TEXTS`."""


@dataclass(frozen=True)
class TextSource:
    """One bundled text: the asset holding the file and the reader that splits it into articles."""

    asset: str
    read: Callable[[Path], tuple[str, ...]]
    role: str


TEXTS: dict[str, TextSource] = {
    "wikipedia": TextSource("wikipedia_excerpt", wikipedia.read_articles, "evaluation"),
    "lee_background": TextSource("lee_background", lee.read_articles, "calibration"),
}


def read_text(name: str) -> tuple[str, ...]:
    """The articles of bundled text `name`, or of your own UTF-8 text file at path `name`
    (articles separated by blank lines), in file order (deterministic)."""
    if name in TEXTS:
        source = TEXTS[name]
        return source.read(locate_asset(source.asset))
    path = Path(name)
    if path.is_file():
        return plain.read_articles(path)
    raise UnknownTextError(
        f"unknown text {name!r}: neither a bundled text ({', '.join(sorted(TEXTS))}) nor an "
        "existing file; name a bundled text or the path of a UTF-8 text file (articles "
        "separated by blank lines)"
    )


def tokenize_articles(tokenizer: Any, articles: Sequence[str]) -> np.ndarray:
    """One int64 token stream `[tokens]` of the articles joined by a blank line.

    No special tokens are added: evaluation windows are slices of this stream, so a BOS token
    would appear only in the first one."""
    ids = tokenizer(ARTICLE_SEPARATOR.join(articles), add_special_tokens=False)["input_ids"]
    return np.asarray(ids, dtype=np.int64)


__all__ = ["TEXTS", "TextSource", "UnknownTextError", "read_text", "tokenize_articles"]
