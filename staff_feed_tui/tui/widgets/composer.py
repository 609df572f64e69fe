"""The composer: a multi-line text area where Enter sends and Ctrl+J (or Alt+Enter) starts a new line."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from staff_feed_tui.core.draft import pasted_file_path

NEWLINE_KEYS = {"ctrl+j", "alt+enter", "shift+enter", "ctrl+enter"}


class Composer(TextArea):
    """Esc leaves the composer and keeps the draft. A pasted block of lines stays one message."""

    BINDINGS = [
        Binding("enter", "submit", "Send", show=True),
        Binding("ctrl+j,alt+enter", "newline", "New line", show=True),
        Binding("ctrl+e,f4", "editor", "Editor", show=True),
        Binding("escape", "leave", "Leave", show=True),
    ]

    @dataclass
    class Submitted(Message):
        composer: Composer
        text: str

    @dataclass
    class Left(Message):
        composer: Composer

    @dataclass
    class EditorRequested(Message):
        composer: Composer

    @dataclass
    class PathPasted(Message):
        """A dispatcher pasted the path of an existing file: offer to attach it instead."""

        composer: Composer
        path: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, placeholder="Add a message…", soft_wrap=True, show_line_numbers=False)

    async def _on_key(self, event: events.Key) -> None:
        # TextArea inserts a newline for Enter before bindings are looked at, so the keys are decided here.
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.action_newline()
            return
        if event.key in ("ctrl+e", "f4"):  # TextArea would take ctrl+e as "end of line"
            event.stop()
            event.prevent_default()
            self.action_editor()
            return
        if event.key == "escape":
            event.stop()
            event.prevent_default()
            self.action_leave()
        # Other keys reach TextArea's own _on_key next: Textual calls the handler of each class in the MRO.

    async def _on_paste(self, event: events.Paste) -> None:
        path = pasted_file_path(event.text)
        if path is not None:
            event.stop()
            event.prevent_default()
            self.post_message(self.PathPasted(self, path))
        # Otherwise TextArea's own _on_paste runs next: Textual calls the handler of each class in the MRO.

    def action_editor(self) -> None:
        self.post_message(self.EditorRequested(self))

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self, self.text))

    def action_newline(self) -> None:
        self.insert("\n")

    def action_leave(self) -> None:
        self.post_message(self.Left(self))
