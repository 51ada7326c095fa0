"""The content of a report, independent of its format: a title, an introduction and blocks, each
a titled table or figure with a note saying what it shows and how to read it. The HTML and
Markdown renderers draw the same blocks.

Plain records; nothing here reads files or renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from matplotlib.figure import Figure


@dataclass(frozen=True)
class Block:
    """One section: a table (text cells) or a figure, with its note."""

    key: str  # anchor and figure file stem: letters, digits, '_' and '-'
    title: str
    note: str
    table: pd.DataFrame | None = None
    figure: Figure | None = None


@dataclass(frozen=True)
class Document:
    title: str
    introduction: list[str]  # paragraphs
    blocks: list[Block] = field(default_factory=list)
