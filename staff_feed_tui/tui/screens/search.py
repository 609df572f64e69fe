"""Search across all staff: hits grouped by staff member; Enter on one opens that feed at that message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from staff_feed_tui.core.fts import fts_words
from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.core.timefmt import format_when
from staff_feed_tui.core.types import Direction, MessageView
from staff_feed_tui.services.feeds import search_all_staff
from staff_feed_tui.tui.compat import QuickInput

if TYPE_CHECKING:
    from staff_feed_tui.tui.app import StaffFeedApp

LIMIT = 200


class AllSearchInput(QuickInput):
    """Enter searches (or, with hits shown, Down moves to them); Esc closes. Handled here, in key order."""

    def take_key(self, key: str) -> bool:
        if key not in ("enter", "down"):
            return False
        screen = self.screen
        assert isinstance(screen, SearchAllScreen)
        if key == "enter":
            screen.run(self.value)
        else:
            screen.to_hits()
        return True


class SearchAllScreen(ModalScreen[tuple[int, int, str] | None]):
    app: StaffFeedApp  # its services and clock, typed

    BINDINGS = [Binding("escape", "close", "Close")]
    DEFAULT_CSS = """
    SearchAllScreen { align: center middle; }
    SearchAllScreen > Vertical { width: 100; max-width: 100%; height: 90%; border: round $accent;
                                 background: $panel; }
    SearchAllScreen Input { height: 1; border: none; padding: 0 1; background: $boost; }
    SearchAllScreen OptionList { height: 1fr; border: none; }
    SearchAllScreen .hint { color: $text-muted; height: 1; padding: 0 1; }
    SearchAllScreen #search-all-state { height: 1; padding: 0 1; }
    """

    @dataclass
    class Found(Message):
        text: str
        hits: Sequence[MessageView]
        names: dict[int, str]

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self._text = text
        self._targets: list[tuple[int, int] | None] = []  # per option: (staff id, message id), None for a heading
        self._found = ""  # the search the hits are for

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Search all staff", style="bold"))
            yield AllSearchInput(value=self._text, placeholder="words or \"a phrase\", then Enter", id="search-all",
                                 compact=True)
            yield Static("", id="search-all-state")
            yield OptionList(id="search-all-hits")
            yield Static("Enter search · ↓ to the hits · Enter opens the feed at that message · Esc close",
                         classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        if self._text:
            self.run(self._text)

    def run(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        self.query_one("#search-all-state", Static).update(Text(f"searching {safe_line(text)!r}…"))
        self.search(text)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def search(self, text: str) -> None:
        hits, names = search_all_staff(self.app.services, text, limit=LIMIT)
        self.post_message(self.Found(text, hits, names))

    @on(Found)
    def _found(self, event: Found) -> None:
        self._found = event.text
        hits_list = self.query_one(OptionList)
        hits_list.clear_options()
        self._targets = []
        groups: dict[int, list[MessageView]] = {}
        for m in event.hits:  # newest first: the staff member with the newest hit comes first
            groups.setdefault(m.staff_id, []).append(m)
        now = self.app.clock()
        words = fts_words(event.text)
        for staff_id, messages in groups.items():
            name = safe_line(event.names.get(staff_id, f"staff #{staff_id}"))
            count = f"{len(messages)} hit{'s' if len(messages) != 1 else ''}"
            hits_list.add_option(Option(Text.assemble((name, "bold"), f"  ·  {count}"), disabled=True))
            self._targets.append(None)
            for m in messages:
                line = Text(f"  {format_when(m.created_at, now):>11}  ")
                line.append("→ sent" if m.direction is Direction.OUT else "← received", style="dim")
                line.append("  ")
                body = Text(safe_line(m.body)[:200] or "(no text)", no_wrap=True, overflow="ellipsis")
                body.highlight_words(words, style="reverse bold", case_sensitive=False)
                line.append_text(body)
                line.no_wrap = True
                line.overflow = "ellipsis"
                hits_list.add_option(Option(line))
                self._targets.append((staff_id, m.id))
        state = self.query_one("#search-all-state", Static)
        if not event.hits:
            state.update(Text(f"{safe_line(event.text)!r}: no match in any feed", style="bold"))
        else:
            more = f" (the newest {LIMIT})" if len(event.hits) >= LIMIT else ""
            state.update(Text(f"{safe_line(event.text)!r}: {len(event.hits)} hits{more} for {len(groups)} staff"))
            hits_list.highlighted = 1

    def to_hits(self) -> None:
        if any(self._targets):
            self.set_focus(self.query_one(OptionList))  # now: the next key in a burst goes there

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        target = self._targets[event.option_index] if event.option_index < len(self._targets) else None
        if target is not None:
            self.dismiss((*target, self._found))

    def action_close(self) -> None:
        self.dismiss(None)
