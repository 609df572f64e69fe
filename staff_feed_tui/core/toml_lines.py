"""Where each key of a TOML file is written, so that a configuration error can name its line.

`tomllib` keeps no positions, so the file's text is scanned: `[table]` headers and `key = …` lines. Values that
span lines (arrays, multi-line strings) are skipped over well enough for the keys that follow them to be found.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in re.split(r"\.(?=(?:[^\"']|\"[^\"]*\"|'[^']*')*$)", dotted))


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Each key path (`("email", "port")`, or `("email",)` for a table) mapped to the 1-based line it is on."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    in_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count('"""') % 2 or line.count("'''") % 2:
                in_multiline = False
            continue
        header = _HEADER.match(line)
        if header:
            table = _parts(header.group(1))
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault(table + _parts(key.group(1)), number)
            if line.count('"""') % 2 or line.count("'''") % 2:
                in_multiline = True
    return lines
