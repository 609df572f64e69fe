"""Search in the open feed: `/` opens the line, Enter searches, `n`/`N` go to the next older/newer match.

The search runs within the filters in force, and again after a change to the feed (a removal), so its count is
always of messages the dispatcher can reach. The store caps the hits; a capped count reads "2,000+".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, get_current_worker

from staff_feed_tui.core.filters import FeedFilter
from staff_feed_tui.core.fts import fts_words
from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.services.feeds import search_feed
from staff_feed_tui.tui.compat import QuickInput
from staff_feed_tui.tui.panes import say_worker_failed

if TYPE_CHECKING:
    from staff_feed_tui.services.context import Services

SEARCH_LIMIT = 2000  # hits kept for n/N; more reads "2,000+"
ERRORS = {"search": "search this feed"}  # what a dispatcher reads when this pane's worker fails


class SearchInput(QuickInput):
    """Search in the open feed: Enter searches, Esc closes; handled as they arrive, so they act in key order."""

    def take_key(self, key: str) -> bool:
        if key not in ("enter", "escape"):
            return False
        search = next(a for a in self.ancestors if isinstance(a, FeedSearch))
        search.done(self.value if key == "enter" else None)
        return True


class FeedSearch(Horizontal):
    """The search line and where the search stands, in the filter row."""


    @dataclass
    class HitChosen(Message):
        """Show this message (a match) with the cursor on it."""

        message_id: int

    @dataclass
    class Highlight(Message):
        """Mark these words in the feed (none: clear the marks)."""

        words: Sequence[str]

    @dataclass
    class Closed(Message):
        """The search line closed: the keyboard goes back to the feed."""

    @dataclass
    class _Hits(Message):
        staff_id: int
        text: str
        hits: Sequence[tuple[datetime, int]]

    def __init__(self, services: Services, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._services = services
        self._staff_id: int | None = None
        self.text = ""  # the search of the open feed, and where it matched (keys, newest first)
        self._hits: list[tuple[datetime, int]] = []
        self._hit = -1
        self._capped = False  # more hits than SEARCH_LIMIT
        self._at: int | None = None  # the hit to stay on (-1: none, stay put), or None to go to the newest

    def compose(self) -> ComposeResult:
        yield SearchInput(placeholder="Search this feed… (Enter, then n/N)", id="search-line")
        yield Static("", id="search-state")

    def on_mount(self) -> None:
        self.line.display = False

    @property
    def line(self) -> SearchInput:
        return self.query_one(SearchInput)

    @property
    def state(self) -> Static:
        return self.query_one("#search-state", Static)

    def open(self) -> None:
        line = self.line
        line.display = True
        line.value = self.text
        self.screen.set_focus(line)

    def done(self, text: str | None) -> None:
        """Enter in the search line searches (an empty line clears the search); Esc closes it."""
        self.line.display = False
        self.post_message(self.Closed())
        if text is None:
            return
        text = text.strip()
        if not text:
            self.clear()
            return
        self.post_message(self.Requested(text))

    @dataclass
    class Requested(Message):
        """Search for `text` in the open feed (the conversation pane runs it with the feed's staff and filters)."""

        text: str
        at: int | None = None

    def clear(self) -> None:
        self.text, self._hits, self._hit = "", [], -1
        self.post_message(self.Highlight([]))
        self.show_state()

    def run(self, staff_id: int, text: str, only: FeedFilter | None, at: int | None = None) -> None:
        """Search `staff_id`'s feed within `only`; with `at`, the cursor stays on that message (a hit)."""
        self._staff_id = staff_id
        self.text = text
        self._at = at
        self.post_message(self.Highlight(fts_words(text)))
        self.state.update(Text(f"searching {safe_line(text)!r}…"))
        self._search(self._services, staff_id, text, only)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search")
    def _search(self, services: Services, staff_id: int, text: str, only: FeedFilter | None) -> None:
        hits = search_feed(services, staff_id, text, only=only, limit=SEARCH_LIMIT + 1)
        if get_current_worker().is_cancelled:
            return  # a newer search (another filter, staff member or text) replaced this one
        self.post_message(self._Hits(staff_id, text, hits))

    @on(_Hits)
    def _hits_found(self, event: _Hits) -> None:
        if event.staff_id != self._staff_id or event.text != self.text:
            return
        self._capped = len(event.hits) > SEARCH_LIMIT
        self._hits = list(event.hits[:SEARCH_LIMIT])
        self._hit = -1
        ids = [key[1] for key in self._hits]
        if self._at in ids:
            self._hit = ids.index(self._at)
            self.show_state()
        elif self._hits and self._at is None:
            self.step(1)
        else:
            self.show_state()

    def refreshed(self, staff_id: int, only: FeedFilter | None) -> None:
        """The feed changed (a removal, new filters): count again, staying on the match shown."""
        if self.text:
            at = self._hits[self._hit][1] if 0 <= self._hit < len(self._hits) else None
            self.run(staff_id, self.text, only, at=at if at is not None else -1)

    def show_state(self) -> None:
        label = self.state
        if not self.text:
            label.update("")
            return
        shown = safe_line(self.text)[:30]
        if not self._hits:
            label.update(Text(f"{shown!r}: no match", style="bold"))
            return
        total = f"{SEARCH_LIMIT:,}+" if self._capped else f"{len(self._hits):,}"
        where = f"{shown!r}: {self._hit + 1 if self._hit >= 0 else '–'} of {total}"
        keys = " · n older · N newer"
        if label.content_region.width and len(where) + len(keys) > label.content_region.width:
            keys = " (n/N)"  # narrow: the keys in short
        label.update(Text(where + keys))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        say_worker_failed(self, event, ERRORS)

    def step(self, step: int) -> None:
        """n goes to the next older match, N to the next newer one."""
        if not self._hits:
            if self.text:
                self.notify(f"No match for {safe_line(self.text)!r} in this feed.", timeout=3)
            return
        self._hit = (self._hit + step) % len(self._hits)
        self.show_state()
        self.post_message(self.HitChosen(self._hits[self._hit][1]))
