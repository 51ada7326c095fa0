"""A `Document` as Markdown: pipe tables, and figures as links to SVG files written beside it
(the HTML twin holds them inline).

Renders only; never reads result files (writing is the caller's).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

from harness.report.document import Block, Document

log = logging.getLogger(__name__)


def _cell(value: object) -> str:
    text = "-" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(table: pd.DataFrame) -> str:
    """A pipe table; the first column left-aligned, the others right-aligned."""
    if table.empty:
        return "(no rows)"
    header = "| " + " | ".join(_cell(c) for c in table.columns) + " |"
    rule = "|" + "|".join([":---", *["---:"] * (len(table.columns) - 1)]) + "|"
    body = [
        "| " + " | ".join(_cell(v) for v in row) + " |" for row in table.itertuples(index=False)
    ]
    return "\n".join([header, rule, *body])


def _block(block: Block, figure_files: Mapping[str, str]) -> str:
    parts = [f"## {block.title}", "", block.note, ""]
    if block.table is not None:
        parts += [markdown_table(block.table), ""]
    if block.figure is not None:
        parts += [f"![{block.title}]({figure_files[block.key]})", ""]
    return "\n".join(parts)


def render_markdown(document: Document, figure_files: Mapping[str, str]) -> str:
    """The Markdown twin; `figure_files`: block key -> the figure's path relative to the page."""
    parts = [f"# {document.title}", "", *(f"{p}\n" for p in document.introduction)]
    parts += [_block(block, figure_files) for block in document.blocks]
    return "\n".join(parts).rstrip("\n") + "\n"
