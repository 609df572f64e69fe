"""Untrusted text made safe for a terminal.

Message bodies, names, file names and inbound texts reach the screen only through `safe_text`. Rendering is done
with markup off elsewhere (Rich `Text`), so `[bold]` already shows as typed; this module removes the other danger,
bytes that a terminal would obey: escape sequences, other C0/C1 controls, and the bidirectional overrides that can
reorder what a dispatcher reads. `clean_name` is the stricter rule for a staff name as it is stored, and
`safe_json` the rule for JSON that a dispatcher's terminal or another program reads.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls except newline and tab, DEL, and the C1 range.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidi embeddings, overrides and isolates (the "Trojan Source" characters).
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def _u_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def safe_text(text: str, *, tab_size: int = 4) -> str:
    """Return `text` with every terminal control shown as a visible escape (ESC becomes `\\x1b`).

    Newlines are kept, tabs become spaces, and a CRLF pair becomes a newline.
    """
    text = text.replace("\r\n", "\n").expandtabs(tab_size)
    text = _CONTROL.sub(_escape, text)
    return _BIDI.sub(_u_escape, text)


def safe_line(text: str) -> str:
    """`safe_text` for places that hold a single line, such as a name or a file name."""
    return safe_text(text).replace("\n", " ")


# Every control character (newline and tab too) and bidi override: none belongs in a name.
_NAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_name(name: str) -> str:
    """A staff name as it is stored: each control character and bidi override becomes a space, ends trimmed."""
    return _NAME_UNSAFE.sub(" ", name).strip()


# What `json.dumps(ensure_ascii=False)` leaves raw but a terminal obeys or a reader misreads: DEL and the C1
# controls, bidi overrides, the line and paragraph separators, and lone surrogates (which cannot be printed).
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def safe_json(value: Any, **dumps_options: Any) -> str:
    """JSON with non-ASCII text kept readable, and every character above written as a `\\uXXXX` escape.

    json.dumps already escapes C0 controls; parsing the result gives back exactly `value`.
    """
    text = json.dumps(value, ensure_ascii=False, **dumps_options)
    return _JSON_UNSAFE.sub(_u_escape, text)
