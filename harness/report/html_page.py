"""A `Document` as one self-contained HTML page: tables through pandas' Styler, figures inline
as SVG, CSS in the head; no JavaScript and nothing fetched over a network. The page is also
well-formed XML (polyglot XHTML), so it can be checked with a plain XML parser.

Renders only; never reads result files (writing is the caller's).
"""

from __future__ import annotations

import html
import io
import logging

import matplotlib
from matplotlib.figure import Figure

from harness.report.document import Block, Document

log = logging.getLogger(__name__)

FLAG = "⚑"
CSS = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 110em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; vertical-align: top; }
th { background: #f2f2f2; }
td:first-child, th:first-child { text-align: left; }
p.note { color: #444; max-width: 60em; }
figure { margin: 0.5em 0 2em; }
figure svg { max-width: 100%; height: auto; }
"""


def svg_text(figure: Figure) -> str:
    """The figure as an inline <svg> element (text kept as text; fixed ids and no date, so the
    same runs give the same bytes)."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "kprune-bench"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})  # same runs, same bytes
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # the XML declaration and DOCTYPE are not for inlining


def _table(block: Block) -> str:
    assert block.table is not None, "a table block holds a table"
    if block.table.empty:
        return '<p class="note">(no rows)</p>'
    styler = block.table.style.hide(axis="index").format(escape="html", na_rep="-")
    styler = styler.format_index(escape="html", axis=1)  # headers are escaped separately
    styler = styler.set_uuid(block.key).map(
        lambda cell: "background-color: #fde2e2" if FLAG in str(cell) else ""
    )
    return str(styler.to_html())


def _block(block: Block) -> str:
    parts = [f'<h2 id="{block.key}">{html.escape(block.title)}</h2>']
    parts.append(f'<p class="note">{html.escape(block.note)}</p>')
    if block.table is not None:
        parts.append(_table(block))
    if block.figure is not None:
        caption = html.escape(block.title)
        parts.append(f"<figure>{svg_text(block.figure)}<figcaption>{caption}</figcaption></figure>")
    return "\n".join(parts)


def render_html(document: Document) -> str:
    """The whole page."""
    title = html.escape(document.title)
    contents = "".join(
        f'<li><a href="#{b.key}">{html.escape(b.title)}</a></li>' for b in document.blocks
    )
    intro = "\n".join(f"<p>{html.escape(p)}</p>" for p in document.introduction)
    body = "\n".join(_block(b) for b in document.blocks)
    return (
        '<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml" lang="en">\n<head>\n'
        f'<meta charset="utf-8"/>\n<title>{title}</title>\n<style>{CSS}</style>\n</head>\n'
        f"<body>\n<h1>{title}</h1>\n{intro}\n<ul>{contents}</ul>\n{body}\n</body>\n</html>\n"
    )
