"""Turn MediaWiki markup into plain article text: prose kept, markup and non-prose dropped.

Pure string functions (no I/O). "Reasonable", not a full MediaWiki parser: templates, tables,
references, comments, files, categories and reference-style sections are removed; links and
emphasis are reduced to their visible words. Deterministic for a given input.
"""

from __future__ import annotations

import html
import re

# Sections after these headings are bibliography and link lists, not prose.
END_SECTIONS = frozenset(
    {
        "references",
        "external links",
        "see also",
        "further reading",
        "notes",
        "bibliography",
        "sources",
        "footnotes",
        "citations",
        "notes and references",
    }
)
# Link namespaces whose target is not running text (images, categories, other languages).
_DROPPED_LINK_PREFIXES = ("file:", "image:", "category:", "media:")

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_REF_PAIRED = re.compile(r"<ref[^>]*?(?<!/)>.*?</ref\s*>", re.DOTALL | re.IGNORECASE)
_REF_SINGLE = re.compile(r"<ref[^>]*/>", re.IGNORECASE)
_NON_PROSE_TAGS = re.compile(
    r"<(math|gallery|timeline|score|syntaxhighlight|source|pre)\b.*?</\1\s*>",
    re.DOTALL | re.IGNORECASE,
)
_TAG = re.compile(r"</?[a-zA-Z][^>]*?/?>")
_INNER_LINK = re.compile(r"\[\[([^\[\]]*)\]\]")
_EXTERNAL_LINK = re.compile(r"\[(?:https?|ftp)://[^\s\]]+\s*([^\]]*)\]")
_BARE_URL = re.compile(r"(?:https?|ftp)://\S+")
_EMPHASIS = re.compile(r"'{2,}")
_HEADING = re.compile(r"^(=+)\s*(.*?)\s*\1\s*$")
_LANGUAGE_LINK = re.compile(r"^[a-z]{2,3}(?:-[a-z]+)?:")
_SPACES = re.compile(r"[ \t]+")


def _remove_nested(text: str, opening: str, closing: str) -> str:
    """Drop every (possibly nested) `opening ... closing` span; an unclosed one runs to the end."""
    out, depth, i = [], 0, 0
    while i < len(text):
        if text.startswith(opening, i):
            depth, i = depth + 1, i + len(opening)
        elif depth and text.startswith(closing, i):
            depth, i = depth - 1, i + len(closing)
        else:
            if not depth:
                out.append(text[i])
            i += 1
    return "".join(out)


def _link_text(match: re.Match[str]) -> str:
    target, _, label = match.group(1).partition("|")
    lowered = target.strip().lower()
    if lowered.startswith(_DROPPED_LINK_PREFIXES) or _LANGUAGE_LINK.match(lowered):
        return ""
    # a piped link shows its last field ([[File:x|thumb|caption]] is dropped above)
    return (label.rsplit("|", 1)[-1] if label else target).strip()


def _reduce_links(text: str) -> str:
    # Innermost first: a file caption may itself hold links; repeat until no [[...]] is left.
    while True:
        reduced = _INNER_LINK.sub(_link_text, text)
        if reduced == text:
            return reduced
        text = reduced


def _prose_lines(text: str) -> list[str]:
    """Lines of running text up to the first reference-style section; headings kept as text."""
    kept: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        heading = _HEADING.match(line)
        if heading:
            if heading.group(2).strip().lower() in END_SECTIONS:
                break
            line = heading.group(2)
        elif line.startswith(("#", "*", ":", ";")):
            line = line.lstrip("#*:; ")  # list and indent markers; the item text is prose
        if line.startswith(("{|", "|", "!", "__")):
            continue  # table rows left over, behaviour switches such as __NOTOC__
        if line.lower().startswith(tuple(f"[[{prefix}" for prefix in _DROPPED_LINK_PREFIXES)):
            continue  # a file caption with unbalanced brackets, which _reduce_links leaves
        line = _SPACES.sub(" ", line).strip()
        if line:
            kept.append(line)
    return kept


def plain_text(wikitext: str) -> str:
    """Article prose of one page's wikitext: paragraphs joined by single newlines."""
    text = _COMMENT.sub("", wikitext)
    text = _REF_PAIRED.sub("", text)
    text = _REF_SINGLE.sub("", text)
    text = _NON_PROSE_TAGS.sub("", text)
    text = _remove_nested(text, "{{", "}}")  # templates: infoboxes, citations, navboxes
    text = _remove_nested(text, "{|", "|}")  # tables
    text = _reduce_links(text)
    text = _EXTERNAL_LINK.sub(lambda m: m.group(1), text)
    text = _BARE_URL.sub("", text)
    text = _TAG.sub("", text)
    text = _EMPHASIS.sub("", text)
    text = html.unescape(text)  # the dump escapes entities once more inside the XML text
    return "\n".join(_prose_lines(text))
