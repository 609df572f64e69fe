"""The composer: a multi-line text area where Enter sends and Ctrl+J (or Alt+Enter) starts a new line."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from staff_feed_tui.core.draft import pasted_file_path
from staff_feed_tui.tui.compat import KeysFirst

NEWLINE_KEYS = {"ctrl+j", "alt+enter", "shift+enter", "ctrl+enter"}


class Composer(KeysFirst, TextArea):
    """Esc leaves the composer and keeps the draft. A pasted block of lines stays one message."""

    BINDINGS = [
        Binding("enter", "submit", "Send", show=True),
        Binding("ctrl+j,alt+enter", "newline", "New line", show=True),
        Binding("f4", "editor", "Editor", show=True),
        Binding("escape", "leave", "Leave", show=True),
    ]
    # The line-editing keys TextArea already gives, as readline does; listed here for the help screen. Ctrl+K is the
    # command palette everywhere but here (see StaffFeedApp.check_action).
    READLINE_KEYS = [
        Binding("ctrl+a", "cursor_line_start", "Start of line"),
        Binding("ctrl+e", "cursor_line_end", "End of line"),
        Binding("ctrl+k", "delete_to_end_of_line", "Delete to end of line"),
        Binding("ctrl+u", "delete_to_start_of_line", "Delete to start of line"),
        Binding("ctrl+w", "delete_word_left", "Delete word before"),
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

    def take_key(self, key: str) -> bool:
        # TextArea inserts a newline for Enter before bindings are looked at, so the keys are decided here.
        if key == "enter":
            self.action_submit()
        elif key in NEWLINE_KEYS:
            self.action_newline()
        elif key == "f4":
            self.action_editor()
        elif key == "escape":
            self.action_leave()
        else:
            return False
        return True

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
