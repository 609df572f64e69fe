"""The staff list: name and texting flags. An OptionList, which measured fine up to a few thousand staff."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.core.types import StaffView


def staff_flags(staff: StaffView) -> str:
    """Flags in words, so they read without colour: `sms` when texts are possible, `STOP` after an opt-out."""
    if staff.sms_opted_out:
        return "STOP"
    if staff.accepts_texts and staff.phone:
        return "sms"
    return ""


class StaffList(OptionList):
    """Moving the highlight chooses the staff member whose feed shows on the right."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "first", "First", show=False),
        Binding("G", "last", "Last", show=False),
    ]

    def __init__(self, *, on_choose: Callable[[StaffView], None] | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self._staff: list[StaffView] = []
        self._unread: dict[int, int] = {}
        self.on_choose = on_choose

    @property
    def staff(self) -> Sequence[StaffView]:
        return self._staff

    def set_staff(self, staff: Sequence[StaffView], unread: dict[int, int] | None = None) -> None:
        current = self.current
        self._staff = list(staff)
        if unread is not None:
            self._unread = dict(unread)
        options = []
        for s in self._staff:
            # The flag comes first, in a fixed column, so it is never cut off by a long name or a scrollbar.
            prompt = Text(f"{staff_flags(s):<5}", style="bold" if s.sms_opted_out else "dim")
            prompt.append(safe_line(s.name))
            if self._unread.get(s.id):
                prompt.append(f" ({self._unread[s.id]})", style="bold")
            options.append(Option(prompt, id=str(s.id)))
        with self.app.batch_update():
            self.clear_options()
            self.add_options(options)
            ids = [s.id for s in self._staff]
            if current is not None and current.id in ids:
                self.highlighted = ids.index(current.id)
            elif self._staff:
                self.highlighted = 0

    def set_unread(self, unread: dict[int, int]) -> None:
        """New unread counts; the list is redrawn only when they changed."""
        if unread != self._unread:
            self._unread = dict(unread)
            self.set_staff(self._staff)

    @property
    def unread(self) -> dict[int, int]:
        return self._unread

    @property
    def current(self) -> StaffView | None:
        index = self.highlighted
        if index is None or index >= len(self._staff):
            return None
        return self._staff[index]

    def step(self, delta: int) -> None:
        if not self._staff:
            return
        index = 0 if self.highlighted is None else (self.highlighted + delta) % len(self._staff)
        self.highlighted = index

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        staff = self.current
        if staff is not None and self.on_choose is not None:
            # Called now, not by a posted message: keys typed right after `j` (say `i` and a message) must land in
            # the composer of the staff member the dispatcher moved to, not the one before.
            self.on_choose(staff)

    @on(OptionList.OptionHighlighted)
    def _on_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
