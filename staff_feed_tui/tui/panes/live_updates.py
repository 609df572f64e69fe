"""Changes made by other processes (another dispatcher, the worker, the gateway), brought to the screen.

The change feed says which feeds changed. For each batch, one thread read gets what the panes need (the changed
messages of the open feed, texts that just arrived, the unread counts they raise, the unknown-sender count), and
one `LiveUpdate` message carries it to the screen, which hands each pane its part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.dom import DOMNode
from textual.message import Message

from staff_feed_tui.core.types import Direction, MessageView
from staff_feed_tui.services.changes import EVERYTHING, ChangedFeed
from staff_feed_tui.services.feeds import get_messages, newest_message_id, unread_counts_for
from staff_feed_tui.services.inbound import list_triage

if TYPE_CHECKING:
    from staff_feed_tui.services.context import Services

ERRORS = {"live": "update the screen with the latest changes", "live-start": "start the live updates"}


@dataclass
class LiveUpdate(Message):
    """What changed, read once."""

    reload_all: bool = False  # the change log was trimmed past what this app had read
    staff_changed: bool = False  # names, numbers or opt-outs changed: the staff list is read again
    open_staff_id: int | None = None
    open_messages: Sequence[MessageView] = ()  # changed or new messages of the open feed
    arrived: Sequence[MessageView] = ()  # inbound texts new since the last update (any feed)
    unread: dict[int, int] = field(default_factory=dict)  # the counts those raised
    triage_count: int | None = None  # unknown senders, when that list changed


@dataclass
class LiveStarted(Message):
    """The newest message when the app started: texts after it are announced."""

    newest: int


def read_changes(services: Services, feeds: Sequence[ChangedFeed], open_staff_id: int | None,
                 newest_seen: int | None) -> LiveUpdate:
    """The one read for a batch of changes. Runs in a thread; takes everything it needs as arguments."""
    if any(f.staff_id == EVERYTHING for f in feeds):
        return LiveUpdate(reload_all=True, triage_count=len(list_triage(services)))
    triage_count = len(list_triage(services)) if any(f.staff_id == 0 for f in feeds) else None
    feeds = [f for f in feeds if f.staff_id != 0]
    open_ids = {m for f in feeds if f.staff_id == open_staff_id for m in f.message_ids}
    new_ids = {m for f in feeds for m in f.message_ids if newest_seen is not None and m > newest_seen}
    messages = {m.id: m for m in get_messages(services, sorted(open_ids | new_ids))} if open_ids | new_ids else {}
    arrived = [messages[i] for i in sorted(new_ids) if i in messages and messages[i].direction is Direction.IN]
    unread = unread_counts_for(services, sorted({m.staff_id for m in arrived})) if arrived else {}
    return LiveUpdate(
        staff_changed=any(f.staff_changed for f in feeds),
        open_staff_id=open_staff_id,
        open_messages=[messages[i] for i in sorted(open_ids) if i in messages],
        arrived=arrived,
        unread=unread,
        triage_count=triage_count,
    )


class LiveUpdates:
    """Turns FeedsChanged batches into LiveUpdate messages, on `owner`'s workers (one at a time, in order)."""

    def __init__(self, owner: DOMNode, services: Services) -> None:
        self._owner = owner
        self._services = services
        self.newest_seen: int | None = None  # messages up to this id were there before; newer texts are announced

    def start(self) -> None:
        services, owner = self._services, self._owner

        def read() -> None:
            owner.post_message(LiveStarted(newest_message_id(services)))

        owner.run_worker(read, thread=True, exit_on_error=False, group="live-start")

    def started(self, newest: int) -> None:
        if self.newest_seen is None:
            self.newest_seen = newest

    def changed(self, feeds: Sequence[ChangedFeed], open_staff_id: int | None) -> None:
        services, owner, newest_seen = self._services, self._owner, self.newest_seen
        if newest_seen is not None:  # moved on here, on the UI thread, so two batches never announce one text twice
            self.newest_seen = max([newest_seen, *(m for f in feeds if f.staff_id > 0 for m in f.message_ids)])

        def read() -> None:
            owner.post_message(read_changes(services, feeds, open_staff_id, newest_seen))

        owner.run_worker(read, thread=True, exit_on_error=False, group="live")
