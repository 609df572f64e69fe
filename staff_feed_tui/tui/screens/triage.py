"""Unknown senders: texts from numbers that match no staff member, to assign to a staff member or dismiss."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.core.timefmt import format_when
from staff_feed_tui.core.types import StaffView
from staff_feed_tui.services.context import DatabaseBusy
from staff_feed_tui.services.inbound import TriageError, TriageView, assign_triage, dismiss_triage, list_triage
from staff_feed_tui.services.staff import list_staff

if TYPE_CHECKING:
    from staff_feed_tui.tui.app import StaffFeedApp


class StaffPicker(ModalScreen[int | None]):
    """Choose a staff member: type to narrow the list, Enter to choose, Esc to go back."""

    BINDINGS = [Binding("escape", "cancel", "Back")]
    DEFAULT_CSS = """
    StaffPicker { align: center middle; }
    StaffPicker > Vertical { width: 60; max-width: 100%; height: 20; border: round $accent; background: $panel; }
    StaffPicker OptionList { height: 1fr; }
    """

    def __init__(self, staff: list[StaffView], title: str) -> None:
        super().__init__()
        self._staff = staff
        self._title = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self._title, style="bold"))
            yield Input(placeholder="Type a name, email or number…", id="filter")
            yield OptionList(id="choices")

    def on_mount(self) -> None:
        self._show("")

    def _show(self, needle: str) -> None:
        needle = needle.lower().strip()
        choices = self.query_one(OptionList)
        choices.clear_options()
        for s in self._staff:
            if needle and needle not in f"{s.name} {s.email} {s.phone or ''}".lower():
                continue
            choices.add_option(Option(Text(f"{safe_line(s.name)}  {s.email}  {s.phone or ''}"), id=str(s.id)))
        if choices.option_count:
            choices.highlighted = 0

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._show(event.value)

    @on(Input.Submitted, "#filter")
    def _submit_filter(self) -> None:
        choices = self.query_one(OptionList)
        if choices.highlighted is not None:
            self.dismiss(int(choices.get_option_at_index(choices.highlighted).id or 0))

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def on_key(self, event: events.Key) -> None:
        # Up/Down move in the list while typing in the filter.
        if event.key in ("up", "down"):
            choices = self.query_one(OptionList)
            choices.action_cursor_up() if event.key == "up" else choices.action_cursor_down()
            event.stop()

    def action_cancel(self) -> None:
        self.dismiss(None)


class TriageScreen(ModalScreen[None]):
    app: StaffFeedApp  # its services, typed

    BINDINGS = [
        Binding("a,enter", "assign", "Assign to staff"),
        Binding("d", "dismiss_entry", "Dismiss"),
        Binding("escape,q", "close", "Close"),
    ]
    DEFAULT_CSS = """
    TriageScreen { align: center middle; }
    TriageScreen > Vertical { width: 90; max-width: 100%; height: 80%; border: round $accent; background: $panel; }
    TriageScreen OptionList { height: 1fr; }
    TriageScreen #triage-hint { color: $text-muted; }
    """

    @dataclass
    class Loaded(Message):
        entries: list[TriageView]
        staff: list[StaffView]

    def __init__(self) -> None:
        super().__init__()
        self._entries: list[TriageView] = []
        self._staff: list[StaffView] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Unknown senders", style="bold"))
            yield OptionList(id="entries")
            yield Static("a assign to a staff member  ·  d dismiss  ·  Esc close", id="triage-hint")

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        services = self.app.services
        self.post_message(self.Loaded(list_triage(services), list_staff(services)))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self._entries, self._staff = event.entries, event.staff
        entries = self.query_one(OptionList)
        entries.clear_options()
        now = datetime.now(UTC)
        for entry in event.entries:
            # An email's sender is the sender's own text: shown through safe_line, like the body.
            kind = "email" if entry.channel == "email" else "text"
            line = Text(f"{kind:<5} {safe_line(entry.from_number)[:40]:<16} {format_when(entry.received_at, now):<11} ")
            line.append(safe_line(entry.body)[:60] or "(no text)")
            if entry.note:
                line.append(f"  ({safe_line(entry.note)[:80]})", style="dim")
            if entry.media_count:
                line.append(f"  [{entry.media_count} file(s)]", style="dim")
            entries.add_option(Option(line, id=str(entry.id)))
        if not event.entries:
            entries.add_option(Option(Text("No texts or emails from unknown senders.", style="italic"), disabled=True))
        else:
            entries.highlighted = 0
        entries.focus()

    @property
    def _current(self) -> TriageView | None:
        index = self.query_one(OptionList).highlighted
        return self._entries[index] if index is not None and index < len(self._entries) else None

    def action_assign(self) -> None:
        entry = self._current
        if entry is None:
            return

        def chosen(staff_id: int | None) -> None:
            if staff_id:
                self.resolve(entry.id, staff_id)

        self.app.push_screen(StaffPicker(self._staff, f"Assign the {'email' if entry.channel == 'email' else 'text'} from {safe_line(entry.from_number)[:60]} to…"), chosen)

    def action_dismiss_entry(self) -> None:
        entry = self._current
        if entry is not None:
            self.resolve(entry.id, None)

    @work(thread=True, exit_on_error=False)
    def resolve(self, triage_id: int, staff_id: int | None) -> None:
        services = self.app.services
        try:
            if staff_id is None:
                dismiss_triage(services, triage_id)
                words = "Dismissed."
            else:
                assign_triage(services, triage_id, staff_id)
                name = next((s.name for s in self._staff if s.id == staff_id), "the staff member")
                words = f"Added to {safe_line(name)}'s feed."
        except (TriageError, DatabaseBusy) as exc:
            words = f"Not done: {exc}"
        self.app.call_from_thread(self.notify, words, timeout=4)
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
