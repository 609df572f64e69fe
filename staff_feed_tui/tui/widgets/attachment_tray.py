"""The attachment tray under the composer: each file with its size and type, each removable from the keyboard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from staff_feed_tui.core.draft import AttachmentFile, human_size
from staff_feed_tui.core.safe_text import safe_line


class AttachmentTray(OptionList):
    BINDINGS = [Binding("delete,backspace,x", "remove", "Remove file")]
    DEFAULT_CSS = """
    AttachmentTray { height: auto; max-height: 5; border: none; padding: 0 1; }
    """

    @dataclass
    class Removed(Message):
        tray: AttachmentTray
        file: AttachmentFile

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._files: list[AttachmentFile] = []
        self.display = False  # shown while it holds files

    @property
    def files(self) -> list[AttachmentFile]:
        return list(self._files)

    def set_files(self, files: Sequence[AttachmentFile]) -> None:
        if not files and not self._files:
            return  # empty stays empty: nothing to redraw (moving between staff members without files)
        self._files = list(files)
        highlighted = self.highlighted
        self.clear_options()
        for n, f in enumerate(self._files, 1):
            line = Text(f"{n}. ")
            line.append(safe_line(f.filename), style="bold")
            line.append(f"  {human_size(f.size)}  {f.mime_type}", style="dim")
            self.add_option(Option(line))
        self.display = bool(self._files)
        if self._files:
            self.highlighted = min(highlighted or 0, len(self._files) - 1)

    def action_remove(self) -> None:
        index = self.highlighted
        if index is None or index >= len(self._files):
            return
        removed = self._files[index]
        self.set_files(self._files[:index] + self._files[index + 1 :])
        self.post_message(self.Removed(self, removed))
