"""What shows while `staff-feed` starts: the staff names at once, read with the standard library alone.

The settings, the ORM and the database open in a thread meanwhile (most of a second here); then the main screen
takes over. Keys typed in between are kept and handled there, in order.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from staff_feed_tui.core.safe_text import safe_line


class BootScreen(Screen[None]):
    DEFAULT_CSS = """
    BootScreen { layout: vertical; }
    BootScreen #boot-top { height: 1; background: $panel; padding: 0 1; }
    BootScreen #boot-body { height: 1fr; }
    BootScreen #boot-left { width: 30; max-width: 40%; border-right: vkey $panel-lighten-2; }
    BootScreen #boot-title { padding: 0 1; background: $boost; text-style: bold; }
    BootScreen #boot-names { padding: 0 0 0 5; height: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    BootScreen #boot-status { padding: 1 2; color: $text-muted; }
    """

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self._names = names

    def compose(self) -> ComposeResult:
        yield Static(Text("staff-feed", style="bold"), id="boot-top")
        with Horizontal(id="boot-body"):
            with Vertical(id="boot-left"):
                yield Static(f"Staff ({len(self._names)})", id="boot-title")
                # Only as many names as fit: the whole list arrives with the main screen. The names come straight
                # from the database file, so each goes through the one safe path like every other name shown.
                names = "\n".join(safe_line(name) for name in self._names[:200])
                yield Static(Text(names, no_wrap=True, overflow="ellipsis"), id="boot-names")
            yield Static("Opening the conversation feeds…", id="boot-status")
