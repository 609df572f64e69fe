from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from staff_feed_tui.core.safe_text import safe_line, safe_text


def test_escape_sequences_become_visible_text() -> None:
    assert safe_text("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert safe_text("bell\x07 nul\x00 del\x7f c1\x9b") == "bell\\x07 nul\\x00 del\\x7f c1\\x9b"


def test_markup_is_left_as_typed() -> None:
    assert safe_text("[bold red]x[/]") == "[bold red]x[/]"


def test_newlines_kept_tabs_expanded_crlf_folded() -> None:
    assert safe_text("a\r\nb\tc\rd") == "a\nb   c\\x0dd"
    assert safe_line("a\nb") == "a b"


def test_bidi_overrides_are_neutralised() -> None:
    assert safe_text("abc\u202edcba") == "abc\\u202edcba"


@given(st.text())
def test_no_control_character_survives(text: str) -> None:
    out = safe_text(text)
    assert all(ch == "\n" or (ord(ch) >= 0x20 and not 0x7F <= ord(ch) <= 0x9F) for ch in out)
    assert not any("\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069" for ch in out)
