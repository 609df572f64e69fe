"""The History tab: a staff member's removed messages, with who removed them and when, and a way to restore each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from staff_feed_tui.core.draft import human_size
from staff_feed_tui.core.safe_text import safe_line, safe_text
from staff_feed_tui.core.timefmt import format_when
from staff_feed_tui.core.types import MessageView, StaffView
from staff_feed_tui.services.context import DatabaseBusy
from staff_feed_tui.services.feeds import removed_messages, restore_message

if TYPE_CHECKING:
    from staff_feed_tui.tui.app import StaffFeedApp


class RemovedList(OptionList):
    """The removed messages, newest removal first."""


class HistoryPane(Vertical):
    """History → Conversations: what was removed from this staff member's feed, by whom and when; `r` restores."""

    app: StaffFeedApp  # its services and clock, typed

    BINDINGS = [Binding("r", "restore", "Restore")]
    DEFAULT_CSS = """
    HistoryPane {
        & TabbedContent { height: 1fr; }
        & ContentTabs { height: 1; }
        & ContentTabs Underline { display: none; }
        & ContentTabs Tab.-active { text-style: bold underline; }
        & TabPane { padding: 0; }
        & RemovedList { height: 1fr; padding: 0 1; }
        & .hint { color: $text-muted; height: 1; padding: 0 1; }
    }
    """

    @dataclass
    class Loaded(Message):
        staff_id: int
        removed: list[MessageView]

    @dataclass
    class Restored(Message):
        message_id: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._staff: StaffView | None = None
        self._removed: list[MessageView] = []

    def compose(self) -> ComposeResult:
        with TabbedContent(id="history-tabs"), TabPane("Conversations", id="history-conversations"):
            yield RemovedList(id="removed", compact=True)
            yield Static("↑↓ choose · r restore to the feed · Esc back to the Conversation Feed", classes="hint")

    def show_staff(self, staff: StaffView) -> None:
        self._staff = staff
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="history")
    def load(self) -> None:
        staff = self._staff
        if staff is None:
            return
        self.post_message(self.Loaded(staff.id, removed_messages(self.app.services, staff.id)))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        if self._staff is None or event.staff_id != self._staff.id:
            return
        self._removed = event.removed
        entries = self.query_one(RemovedList)
        previous = entries.highlighted
        entries.clear_options()
        now = self.app.clock()
        for m in event.removed:
            entries.add_option(Option(removed_entry(m, now)))
        if not event.removed:
            entries.add_option(Option(Text("No removed messages.", style="italic"), disabled=True))
        else:
            entries.highlighted = min(previous or 0, len(event.removed) - 1)

    @property
    def _current(self) -> MessageView | None:
        index = self.query_one(RemovedList).highlighted
        if index is None:
            return None
        return self._removed[index] if index < len(self._removed) else None

    def focus_list(self) -> None:
        self.screen.set_focus(self.query_one(RemovedList))

    def action_restore(self) -> None:
        message = self._current
        if message is not None:
            self.restore(message.id)

    @work(thread=True, exit_on_error=False, group="history")
    def restore(self, message_id: int) -> None:
        try:
            restore_message(self.app.services, message_id)
        except (LookupError, DatabaseBusy) as exc:
            self.app.call_from_thread(self.notify, f"Not restored: {exc}", severity="warning", timeout=6)
        else:
            self.app.call_from_thread(self.notify, "Restored to the Conversation Feed.", timeout=4)
            self.post_message(self.Restored(message_id))
        self.load()


def removed_entry(m: MessageView, now: datetime) -> Text:
    """One History entry: when and by whom it was removed, the original message, and its deliveries then."""
    when = format_when(m.deleted_at, now) if m.deleted_at else "?"
    entry = Text(f"Removed {when} by {safe_line(m.deleted_by or 'unknown')}", style="bold")
    origin = "sent" if m.direction.value == "out" else "received"
    author = f" by {safe_line(m.author)}" if m.author else ""
    entry.append(f"  ·  {origin} {format_when(m.created_at, now)}{author}\n", style="dim")
    entry.append(safe_text(m.body)[:300] or "(no text)")
    for a in m.attachments:
        entry.append(f"\n  ↳ {safe_line(a.filename)} · {human_size(a.size)}", style="dim")
    if m.deliveries:
        states = " · ".join(f"{d.channel.value}: {d.status.label}" for d in m.deliveries)
        entry.append(f"\n  at removal: {states}", style="dim")
    entry.append("\n")
    return entry
