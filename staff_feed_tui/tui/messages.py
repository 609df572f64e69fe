"""Messages that thread workers post back to the UI with their results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.message import Message

from staff_feed_tui.core.types import MessageView, StaffView
from staff_feed_tui.store.changes import ChangedFeed


@dataclass
class StaffLoaded(Message):
    staff: Sequence[StaffView]
    unread: dict[int, int]


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


@dataclass
class MessageQueued(Message):
    staff: StaffView
    message_id: int


@dataclass
class SendRefused(Message):
    staff: StaffView
    reason: str


@dataclass
class FeedsChanged(Message):
    """Another writer (this app's worker, another dispatcher, the gateway) changed these feeds."""

    feeds: Sequence[ChangedFeed]
