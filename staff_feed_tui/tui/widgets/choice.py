"""A one-line choice: `Direction: (•) Any  ( ) Sent  ( ) Received`. Left/Right or Space move the mark.

It reads without colour (the mark is a character) and takes one line, so a form of several fits at 80×24.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from staff_feed_tui.core.safe_text import safe_line


class Choice(Widget, can_focus=True):
    BINDINGS = [
        Binding("left,h", "step(-1)", "Previous", show=False),
        Binding("right,l,space", "step(1)", "Next", show=False),
    ]
    DEFAULT_CSS = """
    Choice { height: auto; width: 1fr; }
    Choice:focus { text-style: bold; background: $boost; }
    """

    value: reactive[str] = reactive("")

    @dataclass
    class Changed(Message):
        choice: Choice
        value: str

        @property
        def control(self) -> Choice:
            return self.choice

    def __init__(self, label: str, options: Sequence[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self._options = list(options)
        self.set_reactive(Choice.value, self._options[0][0] if self._options else "")

    def watch_value(self, value: str) -> None:
        self.post_message(self.Changed(self, value))

    def action_step(self, delta: int) -> None:
        values = [v for v, _ in self._options]
        if not values:
            return
        index = values.index(self.value) if self.value in values else 0
        self.value = values[(index + delta) % len(values)]

    def on_click(self) -> None:
        self.action_step(1)

    def render(self) -> Text:
        text = Text(f"{self.label}: " if self.label else "", style="bold")
        for value, label in self._options:
            mark = "(•)" if value == self.value else "( )"
            text.append(f"{mark} {safe_line(label)} ")
        return text


class Tick(Widget, can_focus=True):
    """`[x] Has attachments`: Space or Enter turns it on and off. The mark is a character, so NO_COLOR reads it."""

    BINDINGS = [Binding("space,enter", "toggle", "Toggle", show=False)]
    DEFAULT_CSS = """
    Tick { height: 1; width: auto; }
    Tick:focus { text-style: bold; background: $boost; }
    """

    value: reactive[bool] = reactive(False)

    @dataclass
    class Changed(Message):
        tick: Tick
        value: bool

        @property
        def control(self) -> Tick:
            return self.tick

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label

    def watch_value(self, value: bool) -> None:
        self.post_message(self.Changed(self, value))

    def action_toggle(self) -> None:
        self.value = not self.value

    def on_click(self) -> None:
        self.action_toggle()

    def render(self) -> Text:
        return Text(f"[{'x' if self.value else ' '}] {self.label}")
