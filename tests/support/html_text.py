"""What a reader of an HTML email sees as text, for comparing it with the plain-text part."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_HIDDEN = {"head", "title", "style", "script"}
_BLOCKS = {"p", "br", "li", "tr", "td", "h1", "h2", "h3", "div", "ol", "ul", "table"}


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in _HIDDEN
        if tag in _BLOCKS:
            self.pieces.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in _HIDDEN
        if tag in _BLOCKS:
            self.pieces.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.pieces.append(data)


def visible_text(html: str) -> str:
    """The document's text as one line, blocks separated by a space, entities decoded."""
    parser = _Visible()
    parser.feed(html)
    parser.close()
    return " ".join("".join(parser.pieces).split())


def words_of(text: str) -> set[str]:
    return set(re.findall(r"[\w'’%–-]+", text.lower()))
