"""The feed's window: which messages are held, which one is selected, and which pages are on their way.

Plain Python, no Textual, so every rule of the window is tested without an app: the feed widget (`FeedView`) only
lays the window out in lines and paints them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from staff_feed_tui.core.types import MessageView

MAX_WINDOW = 600  # messages held at once; the far end is dropped as the view moves


@dataclass(frozen=True, slots=True)
class PageRequest:
    """The page older (or newer) than `key`, for window number `window`."""

    older: bool
    key: tuple[datetime, int]
    window: int


class FeedWindow:
    """A slice of one feed, oldest first, with the cursor on one of its messages."""

    def __init__(self) -> None:
        self.messages: list[MessageView] = []
        self.cursor: int | None = None
        self.at_oldest = True  # the window holds the first message of the feed
        self.at_newest = True  # ... and the last one
        self.number = 0  # counts the windows set by `replace`: a page asked for by an earlier one is dropped
        self.more = 0  # messages that arrived below the window (or below a view scrolled up)
        self.unread_after: int | None = None  # inbound messages past this id get the "new" marker
        self._waiting: set[bool] = set()  # pages asked for and not yet here: True older, False newer

    @property
    def selected(self) -> MessageView | None:
        return self.messages[self.cursor] if self.cursor is not None else None

    def find(self, message_id: int) -> int | None:
        """Where `message_id` is in the window, or None."""
        for index, message in enumerate(self.messages):
            if message.id == message_id:
                return index
        return None

    def index_of(self, message_id: int) -> int | None:
        """Where `message_id` is in the window; the newest message when it is not there."""
        found = self.find(message_id)
        if found is not None:
            return found
        return len(self.messages) - 1 if self.messages else None

    def replace(
        self,
        messages: Sequence[MessageView],
        *,
        reset: bool,
        at_oldest: bool,
        at_newest: bool,
        unread_after: int | None = None,
        top: bool = False,
        select_id: int | None = None,
    ) -> None:
        """A new window. The cursor goes to `select_id`, or the oldest (`top`), or the newest (`reset`, or nothing
        was selected); otherwise it stays on the message it was on (or the newest, when that one is gone)."""
        selected_id = None if reset or self.selected is None else self.selected.id
        self.number += 1
        if reset:
            self.unread_after = unread_after
        if reset or select_id is not None:
            self.more = 0
        self.at_oldest, self.at_newest = at_oldest, at_newest
        self._waiting.clear()
        self.messages = list(messages)
        if select_id is not None:
            self.cursor = self.index_of(select_id)
        elif top:
            self.cursor = 0 if self.messages else None
        elif selected_id is None:
            self.cursor = len(self.messages) - 1 if self.messages else None
        else:
            self.cursor = self.index_of(selected_id)

    def add_page(self, messages: Sequence[MessageView], *, older: bool, at_edge: bool, window: int | None) -> bool:
        """Add a page at one end, letting the far end go beyond MAX_WINDOW (so memory stays flat however far a
        dispatcher scrolls). False, and nothing changed, for a page asked for by a window since replaced."""
        if window is not None and window != self.number:
            return False
        self._waiting.discard(older)
        known = {m.id for m in self.messages}
        fresh = [m for m in messages if m.id not in known]
        selected_id = self.selected.id if self.selected else None
        if older:
            self.at_oldest = at_edge
            self.messages = fresh + self.messages
            if len(self.messages) > MAX_WINDOW:
                self.messages = self.messages[:MAX_WINDOW]
                self.at_newest = False
        else:
            self.at_newest = at_edge
            self.messages = self.messages + fresh
            if len(self.messages) > MAX_WINDOW:
                self.messages = self.messages[-MAX_WINDOW:]
                self.at_oldest = False
            if at_edge:
                self.more = 0
        found = self.find(selected_id) if selected_id is not None else None
        self.cursor = found if found is not None else (0 if self.messages else None)
        return True

    def merged(self, changed: Sequence[MessageView], *, following: bool) -> list[MessageView]:
        """The window with `changed` messages (from any process) applied: those held are updated, removed ones
        dropped, and newer arrivals added at the bottom when the window reaches the newest. Arrivals the view
        does not show (not `following` the newest, or beyond the window) are counted in `more`."""
        index = {m.id: n for n, m in enumerate(self.messages)}
        updated = list(self.messages)
        arrivals = []
        for message in changed:
            if message.id in index:
                updated[index[message.id]] = message
            elif message.deleted_at is None:
                arrivals.append(message)
        updated = [m for m in updated if m.deleted_at is None]
        newest_key = (updated[-1].created_at, updated[-1].id) if updated else None
        later = [m for m in arrivals if newest_key is None or (m.created_at, m.id) > newest_key]
        if self.at_newest:
            updated += sorted(later, key=lambda m: (m.created_at, m.id))
            if later and not following:
                self.more += len(later)
        else:
            self.more += len(later)
        return updated

    def pages_wanted(self, *, near_top: bool, near_bottom: bool) -> list[PageRequest]:
        """The pages to ask for now: one per end the view is near, unless one is already on its way."""
        if not self.messages:
            return []
        wanted = []
        if near_top and not self.at_oldest and True not in self._waiting:
            self._waiting.add(True)
            first = self.messages[0]
            wanted.append(PageRequest(True, (first.created_at, first.id), self.number))
        if near_bottom and not self.at_newest and False not in self._waiting:
            self._waiting.add(False)
            last = self.messages[-1]
            wanted.append(PageRequest(False, (last.created_at, last.id), self.number))
        return wanted


def message_in_view(starts: Sequence[int], top: int, height: int, cursor: int | None) -> int | None:
    """After the view moved to `top`: the message to select so the selection stays on screen.

    `starts` is each message's first line. The cursor stays where it is if its message starts on screen; else it
    goes to the first message that starts on screen, or, when one long message fills the whole view, that one.
    """
    if not starts:
        return None
    if cursor is not None and cursor < len(starts) and top <= starts[cursor] < top + height:
        return cursor
    covering = 0
    for index, start in enumerate(starts):
        if start >= top + height:
            break
        if start >= top:
            return index
        covering = index
    return covering
