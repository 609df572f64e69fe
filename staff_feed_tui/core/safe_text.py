"""Untrusted text made safe for a terminal.

Message bodies, names, file names and inbound texts reach the screen only through `safe_text`. Rendering is done
with markup off elsewhere (Rich `Text`), so `[bold]` already shows as typed; this module removes the other danger,
bytes that a terminal would obey: escape sequences, other C0/C1 controls, and the bidirectional overrides that can
reorder what a dispatcher reads.
"""

from __future__ import annotations

import re

# C0 controls except newline and tab, DEL, and the C1 range.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidi embeddings, overrides and isolates (the "Trojan Source" characters).
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def _escape_bidi(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def safe_text(text: str, *, tab_size: int = 4) -> str:
    """Return `text` with every terminal control shown as a visible escape (ESC becomes `\\x1b`).

    Newlines are kept, tabs become spaces, and a CRLF pair becomes a newline.
    """
    text = text.replace("\r\n", "\n").expandtabs(tab_size)
    text = _CONTROL.sub(_escape, text)
    return _BIDI.sub(_escape_bidi, text)


def safe_line(text: str) -> str:
    """`safe_text` for places that hold a single line, such as a name or a file name."""
    return safe_text(text).replace("\n", " ")
