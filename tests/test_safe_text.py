from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from staff_feed_tui.core.safe_text import clean_name, safe_json, safe_line, safe_text


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


def test_clean_name_turns_every_control_character_into_a_space() -> None:
    assert clean_name("Dana\x1b]0;owned\x07 Reyes") == "Dana ]0;owned  Reyes"
    assert clean_name("\tDana\nReyes\x9b\u202e ") == "Dana Reyes"
    assert clean_name("Tomás Álvarez [bold]") == "Tomás Álvarez [bold]"


@given(st.text())
def test_no_control_character_survives_in_a_clean_name(name: str) -> None:
    assert not any(_is_control(ch) or ch in "\n\t" for ch in clean_name(name))


def _is_control(ch: str) -> bool:
    return ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069"


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(_JSON_VALUES)
def test_safe_json_parses_back_to_the_value_and_prints_no_control(value: object) -> None:
    text = safe_json(value, indent=2)
    assert json.loads(text) == value
    assert not any(_is_control(ch) and ch != "\n" for ch in text)
    assert not any(ch in "\u2028\u2029" or "\ud800" <= ch <= "\udfff" for ch in text)
    text.encode("utf-8")  # printable: no lone surrogate reaches stdout


def test_safe_json_keeps_readable_text_readable() -> None:
    assert safe_json({"name": "Tomás \u202eevil\x9b"}) == '{"name": "Tomás \\u202eevil\\u009b"}'
