"""HTML mail as plain text, with the standard library's parser: paragraphs and line breaks kept, lists bulleted,
links written out, scripts, styles and the head dropped. Enough for a reply; the original is kept whole."""

from __future__ import annotations

import contextlib
import re
from html.parser import HTMLParser

_BLOCK = frozenset({"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
                    "blockquote", "pre", "hr", "section", "article", "header", "footer"})
_SKIP = frozenset({"script", "style", "head", "title"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._quote = 0
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "blockquote":
            self._quote += 1
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag == "a":
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "blockquote":
            self._quote = max(0, self._quote - 1)
            self.parts.append("\n")
        elif tag in ("p", "div", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6"):
            self.parts.append("\n")
        elif tag == "a" and self._href:
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        text = re.sub(r"\s+", " ", data)
        if self._quote:
            text = text.replace("\n", "\n" + "> " * self._quote)
            if not self.parts or self.parts[-1].endswith("\n"):
                text = "> " * self._quote + text.lstrip()
        self.parts.append(text)


def html_to_text(html: str) -> str:
    parser = _Text()
    with contextlib.suppress(Exception):  # broken markup from a sender: keep what was read
        parser.feed(html)
        parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
