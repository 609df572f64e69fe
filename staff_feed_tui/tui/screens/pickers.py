"""Pickers and questions: the attachment picker, and a small keyboard-only question with named answers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Input, OptionList, Static
from textual.widgets.option_list import Option

from staff_feed_tui.core.draft import AttachmentFile, DraftError, human_size
from staff_feed_tui.core.lockdown import AttachScope
from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.tui.compat import KeysFirst


def complete_path(text: str, scope: AttachScope | None = None) -> str:
    """Tab completion for a path: the longest common continuation of what matches (within the scope's root)."""
    if scope is not None and scope.root is not None:
        directory, prefix = os.path.split(text)
        try:
            listed = scope.resolve(directory or ".", scope.root)
            names = [n for n in os.listdir(listed) if n.startswith(prefix) and scope.visible(listed / n)]
        except (DraftError, OSError):
            return text
        if not names:
            return text
        common = os.path.commonprefix(names)
        completed = os.path.join(directory, common)
        if len(names) == 1 and (listed / common).is_dir():
            completed += os.sep
        return completed
    expanded = os.path.expanduser(text) if text else "./"
    directory, prefix = os.path.split(expanded)
    try:
        names = [n for n in os.listdir(directory or ".") if n.startswith(prefix)]
    except OSError:
        return text
    if not names:
        return text
    common = os.path.commonprefix(names)
    completed = os.path.join(directory, common)
    if len(names) == 1 and os.path.isdir(completed):
        completed += os.sep
    if text.startswith("~"):
        home = os.path.expanduser("~")
        if completed.startswith(home):
            completed = "~" + completed[len(home):]
    return completed


class PathInput(KeysFirst, Input):
    """An Input where Tab completes the path and Enter hands it over at once.

    Both are handled here, in key order, rather than by a posted message: keys typed straight after Enter (a
    burst over a slow link) must start a new path, not extend the old one.
    """

    def __init__(self, *, on_enter: Callable[[str], bool], scope: AttachScope | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_enter = on_enter
        self._scope = scope

    def take_key(self, key: str) -> bool:
        if key == "tab":
            self.value = complete_path(self.value, self._scope)
            self.cursor_position = len(self.value)
            return True
        if key == "enter":
            if self._on_enter(self.value):
                self.value = ""
            return True
        return False


class ScopedTree(DirectoryTree):
    """The picker's tree: entries the scope refuses (a symlink out of the root, the data dir) are not shown."""

    def __init__(self, path: Path, scope: AttachScope, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self._scope = scope

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [path for path in paths if self._scope.visible(path)]


class AttachPicker(ModalScreen[list[AttachmentFile] | None]):
    """Type a path (Tab completes, Enter adds) or walk the tree (Enter or Space adds a file); Ctrl+S attaches."""

    BINDINGS = [
        Binding("ctrl+s,f2", "done", "Attach chosen files"),
        Binding("escape", "cancel", "Cancel"),
    ]
    # The path line's own keys, for the help screen.
    HELP_KEYS = [Binding("tab", "complete", "Complete the path"), Binding("enter", "add", "Add the file")]
    DEFAULT_CSS = """
    AttachPicker { align: center middle; }
    AttachPicker > Vertical { width: 100; max-width: 100%; height: 90%; border: round $accent; background: $panel; }
    AttachPicker Horizontal { height: 1fr; }
    AttachPicker DirectoryTree { width: 1fr; }
    AttachPicker #chosen { width: 1fr; border-left: vkey $panel-lighten-2; }
    AttachPicker #picker-error { color: $error; text-style: bold; height: auto; }
    AttachPicker .hint { color: $text-muted; }
    """

    def __init__(self, start: Path, already: list[AttachmentFile], scope: AttachScope | None = None) -> None:
        super().__init__()
        self._start = start
        self._scope = scope or AttachScope()
        self._chosen: list[AttachmentFile] = []
        self._already = already

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Attach files", style="bold"))
            yield PathInput(on_enter=self._path_entered, scope=self._scope,
                            placeholder="Path to a file (Tab completes, Enter adds)", id="path")
            yield Static("", id="picker-error")
            with Horizontal():
                yield ScopedTree(self._start, self._scope, id="tree")
                yield OptionList(id="chosen")
            yield Static("Enter/Space add · Del remove · Ctrl+S attach · Esc cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#picker-error", Static).display = False
        self._show_chosen()
        self.query_one("#path", PathInput).focus()

    def _add(self, raw: str) -> bool:
        error = self.query_one("#picker-error", Static)
        try:
            file = self._scope.check(raw, self._start, [*self._already, *self._chosen])
        except DraftError as exc:
            error.update(Text(str(exc)))
            error.display = True
            return False
        error.display = False
        self._chosen.append(file)
        self._show_chosen()
        return True

    def _show_chosen(self) -> None:
        chosen = self.query_one("#chosen", OptionList)
        chosen.clear_options()
        if not self._chosen:
            chosen.add_option(Option(Text("No files chosen yet", style="italic"), disabled=True))
        for f in self._chosen:
            chosen.add_option(Option(Text(f"{safe_line(f.filename)}  {human_size(f.size)}")))

    def _path_entered(self, raw: str) -> bool:
        """Add the file (True: clear the field), or open a directory in the tree."""
        value = raw.strip()
        if not value:
            return False
        try:
            path = self._scope.resolve(value, self._start)
        except DraftError:
            return self._add(value)  # says why
        if path.is_dir():
            self.query_one(DirectoryTree).path = path
            return True
        return self._add(value)

    @on(DirectoryTree.FileSelected)
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self._add(str(event.path))

    def on_key(self, event: Key) -> None:
        chosen = self.query_one("#chosen", OptionList)
        if event.key == "space" and self.focused is self.query_one(DirectoryTree):
            node = self.query_one(DirectoryTree).cursor_node
            if node is not None and node.data is not None and Path(node.data.path).is_file():
                self._add(str(node.data.path))
                event.stop()
        elif event.key in ("delete", "backspace") and self.focused is chosen:
            index = chosen.highlighted
            if index is not None and index < len(self._chosen):
                del self._chosen[index]
                self._show_chosen()
                event.stop()

    def action_done(self) -> None:
        self.dismiss(list(self._chosen))

    def action_cancel(self) -> None:
        self.dismiss(None)


class Question(ModalScreen[str | None]):
    """A question answered by a key: `answers` maps a key to (answer, label). Esc answers None."""

    DEFAULT_CSS = """
    Question { align: center middle; }
    Question > Vertical { width: 76; max-width: 100%; height: auto; border: round $warning; background: $panel;
                          padding: 0 1; }
    Question .answers { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, title: str, body: str, answers: dict[str, tuple[str, str]]) -> None:
        super().__init__()
        self._title, self._body, self._answers = title, body, answers

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self._title, style="bold"))
            yield Static(Text(self._body))
            labels = [f"{key} {label}" for key, (_, label) in self._answers.items()] + ["Esc cancel"]
            yield Static(Text("  ·  ".join(labels)), classes="answers")

    def on_key(self, event: Key) -> None:
        event.stop()
        if event.key == "escape":
            self.dismiss(None)
        elif event.key in self._answers:
            self.dismiss(self._answers[event.key][0])


