"""History: a staff member's removed messages, with who removed them and when, and a way to restore each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from staff_feed_tui.core.draft import human_size
from staff_feed_tui.core.safe_text import safe_line, safe_text
from staff_feed_tui.core.timefmt import format_when
from staff_feed_tui.core.types import MessageView, StaffView
from staff_feed_tui.store.db import DatabaseBusy
from staff_feed_tui.store.feed import iter_feed, restore_message


class HistoryScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("r", "restore", "Restore"),
        Binding("escape,q,H", "close", "Close"),
    ]
    DEFAULT_CSS = """
    HistoryScreen { align: center middle; }
    HistoryScreen > Vertical { width: 100; max-width: 100%; height: 90%; border: round $accent; background: $panel; }
    HistoryScreen OptionList { height: 1fr; }
    HistoryScreen .hint { color: $text-muted; }
    """

    @dataclass
    class Loaded(Message):
        removed: list[MessageView]

    def __init__(self, staff: StaffView) -> None:
        super().__init__()
        self._staff = staff
        self._removed: list[MessageView] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"History · removed messages · {safe_line(self._staff.name)}", style="bold"))
            yield OptionList(id="removed")
            yield Static("r restore · Esc close", classes="hint")

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        engine = self.app.services.engine  # type: ignore[attr-defined]
        removed = list(iter_feed(engine, self._staff.id, deleted_only=True))
        removed.sort(key=lambda m: m.deleted_at or m.created_at, reverse=True)
        self.post_message(self.Loaded(removed))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self._removed = event.removed
        entries = self.query_one(OptionList)
        entries.clear_options()
        now = datetime.now(UTC)
        for m in event.removed:
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
            entries.add_option(Option(entry))
        if not event.removed:
            entries.add_option(Option(Text("No removed messages.", style="italic"), disabled=True))
        else:
            entries.highlighted = 0
        entries.focus()

    @property
    def _current(self) -> MessageView | None:
        index = self.query_one(OptionList).highlighted
        if index is None:
            return None
        return self._removed[index] if index < len(self._removed) else None

    def action_restore(self) -> None:
        message = self._current
        if message is not None:
            self.restore(message.id)

    @work(thread=True, exit_on_error=False)
    def restore(self, message_id: int) -> None:
        services = self.app.services  # type: ignore[attr-defined]
        try:
            restore_message(services.engine, message_id, services.dispatcher)
            words = "Restored to the feed."
        except (LookupError, DatabaseBusy) as exc:
            words = f"Not restored: {exc}"
        self.app.call_from_thread(self.notify, words, timeout=4)
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
