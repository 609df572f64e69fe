"""Free text as a search that cannot be a syntax error, the same on both engines.

`search_words` is the one place where text becomes search words: runs of letters and digits, lower-cased, with
diacritics removed (café → cafe). The FTS5 index's tokenizer (unicode61) splits and folds a body the same way;
on PostgreSQL the body's words themselves are computed here and stored (`store/search.py`). A search is parsed
into terms, each a word or a "quoted phrase" (a run of words in order), and every term must match. Whatever a
dispatcher types (`"`, `*`, `NEAR`, `-`, `OR`, `(`, `&`, `!`, `:`) is only ever words.
"""

from __future__ import annotations

import re
import unicodedata

_PART = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"[^\W_]+")


def search_words(text: str) -> list[str]:
    """The words of `text` as the search index holds them: letters and digits, lower-cased, diacritics removed."""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WORD.findall(unicodedata.normalize("NFC", bare).lower())


def search_terms(text: str) -> list[list[str]]:
    """The terms of a search: each a list of words (one word, or a quoted phrase's words in order); none empty."""
    terms = []
    for phrase, word in _PART.findall(text):
        words = search_words(phrase if phrase else word)
        if words:
            terms.append(words)
    return terms


def fts_query(text: str) -> str | None:
    """The FTS5 MATCH expression for `text` (each term one FTS5 string, ANDed), or None when nothing is left."""
    terms = search_terms(text)
    return " ".join('"' + " ".join(words) + '"' for words in terms) if terms else None


def tsquery(text: str) -> str | None:
    """The same search as a PostgreSQL `to_tsquery('simple', …)` argument: words quoted, a phrase's words joined
    by `<->` (followed by), terms by `&`. Words hold only letters and digits, so the quoting cannot be escaped."""
    terms = search_terms(text)
    if not terms:
        return None
    return " & ".join("(" + " <-> ".join(f"'{w}'" for w in words) + ")" for words in terms)


def fts_words(text: str) -> list[str]:
    """The words of a search, for marking them where they matched."""
    return [w for phrase, word in _PART.findall(text) for w in re.findall(r"\w+", phrase or word)]
