"""Plain texts: wiki markup stripped to prose, dump and one-line-per-article readers, registry."""

from __future__ import annotations

import bz2
from pathlib import Path

import numpy as np
import pytest

from harness.data.texts import TEXTS, UnknownTextError, lee, read_text, tokenize_articles, wikipedia
from harness.data.texts.wiki_markup import plain_text
from tests.harness.decoder_fixtures import skip_without_assets

WIKITEXT = """{{Infobox person|name=Ada|born={{birth date|1815|12|10}}}}
'''Ada Lovelace''' was an [[England|English]] [[mathematician]].<ref name="a">Cited.</ref> She
worked on the [[Analytical Engine]]<ref>Other.</ref> with [http://example.org Babbage].
[[File:Ada.jpg|thumb|A portrait with a [[caption link]].]]
<!-- hidden note -->
== Early life ==
She was born in London&nbsp;in 1815.
{| class="wikitable"
| a || b
|}
* A list item about [[poetry]].
== References ==
{{reflist}}
Bibliography text that is not prose.
[[Category:Mathematicians]]
"""


def test_plain_text_keeps_prose_and_drops_markup() -> None:
    assert plain_text(WIKITEXT).splitlines() == [
        "Ada Lovelace was an English mathematician. She",
        "worked on the Analytical Engine with Babbage.",
        "Early life",
        "She was born in London\xa0in 1815.",
        "A list item about poetry.",
    ]


def _page(title: str, ns: int, text: str, redirect: bool = False) -> str:
    redirect_tag = f'<redirect title="{title}x" />' if redirect else ""
    return (
        f"<page><title>{title}</title><ns>{ns}</ns>{redirect_tag}<revision>"
        f'<text xml:space="preserve">{text}</text></revision></page>'
    )


def _write_dump(path: Path, body: str) -> Path:
    xml = f'<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/">{body}</mediawiki>'
    path.write_bytes(bz2.compress(xml.encode()))
    return path


def test_dump_reader_keeps_main_namespace_articles_in_order(tmp_path: Path) -> None:
    prose = "word " * 60
    body = "".join(
        [
            _page("First", 0, "'''First''' " + prose),
            _page("Moved", 0, "#REDIRECT [[First]]", redirect=True),
            _page("Talk:First", 1, prose),
            _page("Stub", 0, "Too short."),
            _page("Second", 0, prose + "&lt;ref&gt;gone&lt;/ref&gt;"),
        ]
    )
    dump = _write_dump(tmp_path / "dump.xml.bz2", body)
    articles = wikipedia.read_articles(dump)
    assert [a.splitlines()[0] for a in articles] == ["First", "Second"]
    assert "gone" not in articles[1]
    assert wikipedia.read_articles(dump) == articles  # deterministic


def test_lee_reader_gives_one_article_per_nonblank_line(tmp_path: Path) -> None:
    corpus = tmp_path / "lee.cor"
    corpus.write_text("First article.\n\n  Second article. \nThird", encoding="utf-8")
    assert lee.read_articles(corpus) == ("First article.", "Second article.", "Third")


def test_unknown_text_is_a_usage_error_listing_the_known_ones() -> None:
    with pytest.raises(UnknownTextError, match="lee_background"):
        read_text("tinystories")


class _CharTokenizer:
    def __call__(self, text: str, add_special_tokens: bool) -> dict[str, list[int]]:
        assert not add_special_tokens
        return {"input_ids": [ord(c) for c in text]}


def test_articles_become_one_stream_separated_by_a_blank_line() -> None:
    stream = tokenize_articles(_CharTokenizer(), ["ab", "c"])
    assert stream.dtype == np.int64
    assert "".join(map(chr, stream)) == "ab\n\nc"


def test_every_text_is_a_registered_asset() -> None:
    from harness.data.assets import ASSETS

    assert {source.asset for source in TEXTS.values()} <= set(ASSETS)


@pytest.mark.slow  # decompresses and cleans 6 MB of wikitext
@skip_without_assets("wikipedia_excerpt", "lee_background")
def test_bundled_texts_read_as_documented() -> None:
    wiki = read_text("wikipedia")
    assert len(wiki) == 106
    assert 400_000 < sum(len(a.split()) for a in wiki) < 480_000
    assert not any(marker in a for a in wiki for marker in ("{{", "<ref", "&amp;"))
    lee_articles = read_text("lee_background")
    assert len(lee_articles) == 300
