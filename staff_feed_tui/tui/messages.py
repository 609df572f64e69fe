"""Messages that thread workers post back to the UI with their results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from textual.message import Message

from staff_feed_tui.core.draft import AttachmentFile
from staff_feed_tui.core.types import DeliveryMethod, MessageView, StaffView
from staff_feed_tui.services.changes import ChangedFeed


@dataclass
class StaffLoaded(Message):
    staff: Sequence[StaffView]
    unread: dict[int, int]


@dataclass
class ActivityLoaded(Message):
    activity: dict[int, datetime]


@dataclass
class UnreadCounted(Message):
    unread: dict[int, int]


@dataclass
class InboundArrived(Message):
    """Texts from staff that arrived since the app started (the gateway wrote them, in any process)."""

    messages: Sequence[MessageView]


@dataclass
class TriageCounted(Message):
    count: int


@dataclass
class FeedLoaded(Message):
    staff: StaffView
    messages: Sequence[MessageView]
    reset: bool
    at_oldest: bool = True
    at_newest: bool = True
    unread_after: int | None = None
    top: bool = False
    select_id: int | None = None  # a search hit to put the cursor on
    token: object | None = None  # the open that asked for it (MainScreen._open_feed); a later load voids it


@dataclass
class FeedLoadFailed(Message):
    """Reading a feed's first page failed in the thread that opens it."""

    error: str


@dataclass
class SearchHits(Message):
    """Where a search of the open feed matched: keys, newest first."""

    staff_id: int
    text: str
    hits: Sequence[tuple[datetime, int]]


@dataclass
class FeedPageLoaded(Message):
    staff: StaffView
    messages: Sequence[MessageView]
    older: bool
    at_edge: bool
    filters: object = None  # the filters the page was read with: a page read before they changed is dropped
    window: int | None = None  # the feed window that asked for it


@dataclass
class FeedMessagesChanged(Message):
    staff_id: int
    messages: Sequence[MessageView]


@dataclass
class DraftState:
    """What the composer holds for one staff member."""

    body: str = ""
    files: list[AttachmentFile] = field(default_factory=list)
    method: DeliveryMethod | None = None
    problem: str | None = None  # e.g. a file of a saved draft that is gone

    @property
    def empty(self) -> bool:
        return not self.body.strip() and not self.files


@dataclass
class DraftsLoaded(Message):
    drafts: dict[int, DraftState]


@dataclass
class MessageQueued(Message):
    staff: StaffView
    message_id: int
    method: DeliveryMethod = DeliveryMethod.EMAIL


@dataclass
class MmsLimitsBroken(Message):
    """The files cannot go by text: ask whether to send them by email only."""

    staff: StaffView
    draft: DraftState
    problems: list[str]


@dataclass
class SendRefused(Message):
    staff: StaffView
    reason: str


@dataclass
class FeedsChanged(Message):
    """Another writer (this app's worker, another dispatcher, the gateway) changed these feeds."""

    feeds: Sequence[ChangedFeed]
