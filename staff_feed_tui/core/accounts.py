"""Dispatcher accounts on a shared host: names, and the service account's `authorized_keys` lines.

Pure text: the CLI reads and writes the file, this module says what goes in it (see `services.dispatchers`).
"""

from __future__ import annotations

import re

NAME_PATTERN = re.compile(r"[a-z0-9._-]{1,32}")


class AccountError(ValueError):
    """A dispatcher account problem, in one sentence."""


def check_dispatcher_name(name: str) -> str:
    """The name, or AccountError: `[a-z0-9._-]{1,32}`, and not `.`/`..` (it names a folder) nor starting with `-`
    (it follows `--as` on a command line)."""
    if not NAME_PATTERN.fullmatch(name) or set(name) == {"."} or name.startswith("-"):
        shown = name.encode("unicode_escape").decode("ascii")[:40]
        raise AccountError(
            f"dispatcher name {shown!r} is not valid: use 1 to 32 of a-z, 0-9, '.', '_' and '-', not starting with '-'"
        )
    return name
