"""Read article prose from a MediaWiki XML dump (bz2), such as the bundled Wikipedia excerpt.

Streams the XML; keeps main-namespace pages that are not redirects, in file order, and turns
their wikitext into plain text (`wiki_markup`). Never writes anything.
"""

from __future__ import annotations

import bz2
import logging
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.data.texts.wiki_markup import plain_text

log = logging.getLogger(__name__)

MIN_ARTICLE_CHARS = 200  # stubs and disambiguation leftovers are lists, not prose


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]  # strip the export schema's XML namespace


def _page_fields(page: ET.Element) -> tuple[str, str, bool, str]:
    """(title, namespace, is_redirect, wikitext) of one <page> element."""
    title = namespace = wikitext = ""
    redirect = False
    for element in page.iter():
        tag = _local(element.tag)
        if tag == "title":
            title = element.text or ""
        elif tag == "ns":
            namespace = element.text or ""
        elif tag == "redirect":
            redirect = True
        elif tag == "text":
            wikitext = element.text or ""
    return title, namespace, redirect, wikitext


def read_articles(path: Path) -> tuple[str, ...]:
    """Plain text of each article page in the dump at `path`, in file order."""
    articles: list[str] = []
    skipped = 0
    with bz2.open(path, "rb") as stream:
        for _, element in ET.iterparse(stream, events=("end",)):
            if _local(element.tag) != "page":
                continue
            title, namespace, redirect, wikitext = _page_fields(element)
            element.clear()  # keep memory flat while streaming
            text = plain_text(wikitext) if namespace == "0" and not redirect else ""
            if len(text) < MIN_ARTICLE_CHARS:
                skipped += 1
                continue
            articles.append(f"{title}\n{text}")
    log.info("read %d articles from %s (%d pages skipped)", len(articles), path.name, skipped)
    return tuple(articles)
