"""Free text as an FTS5 query that cannot be a syntax error.

Whatever a dispatcher types (`"`, `*`, `NEAR`, `-`, `OR`, `(`) is matched as words: each word, or each "quoted
phrase", becomes one FTS5 string (internal quotes doubled), and the strings are ANDed. Tokens with no letter or
digit are dropped, since the tokenizer would leave an empty phrase.
"""

from __future__ import annotations

import re

_PART = re.compile(r'"([^"]*)"|(\S+)')
_WORDY = re.compile(r"\w", re.UNICODE)


def fts_query(text: str) -> str | None:
    """The MATCH expression for `text`, or None when nothing searchable is left."""
    terms = []
    for phrase, word in _PART.findall(text):
        term = phrase if phrase else word
        if not _WORDY.search(term):
            continue
        terms.append('"' + term.replace('"', '""') + '"')
    return " ".join(terms) if terms else None


def fts_words(text: str) -> list[str]:
    """The words of a search, for marking them where they matched."""
    return [w for phrase, word in _PART.findall(text) for w in re.findall(r"\w+", phrase or word)]
