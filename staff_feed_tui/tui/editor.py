"""Writing a draft in the dispatcher's own editor: the app suspends, the editor runs, the text comes back."""

from __future__ import annotations

import os
import subprocess
import tempfile

from textual.app import App, SuspendNotSupported


def edit_in_editor(app: App[object], text: str, command: list[str]) -> str | None:
    """Open the editor `command` (the session policy's) on `text`; returns the edited text, or None when the editor
    failed."""
    fd, name = tempfile.mkstemp(prefix="staff-feed-draft-", suffix=".txt")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)

        def run() -> int:
            try:
                return subprocess.run([*command, name], check=False).returncode
            except OSError:
                return 127

        try:
            with app.suspend():
                code = run()
        except SuspendNotSupported:  # no terminal to hand over (a headless test): run it as it is
            code = run()
        if code != 0:
            return None
        with open(name, encoding="utf-8") as handle:
            return handle.read().rstrip("\n")
    finally:
        os.unlink(name)
