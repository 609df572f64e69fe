"""Value types shared by every layer, and the small view dataclasses that widgets receive."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Direction(str, enum.Enum):
    OUT = "out"
    IN = "in"


class Channel(str, enum.Enum):
    EMAIL = "email"
    SMS = "sms"


class DeliveryMethod(str, enum.Enum):
    EMAIL = "email"
    SMS = "sms"
    BOTH = "both"

    @property
    def channels(self) -> tuple[Channel, ...]:
        if self is DeliveryMethod.BOTH:
            return (Channel.EMAIL, Channel.SMS)
        return (Channel(self.value),)


class DeliveryStatus(str, enum.Enum):
    """A delivery's place in its life. Status only moves forward (see `can_move`)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def is_final(self) -> bool:
        return self in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED)

    @property
    def label(self) -> str:
        """The word shown in the feed. Failures shout, so they read without colour."""
        return "FAILED" if self is DeliveryStatus.FAILED else self.value


_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENDING: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.FAILED: 3,
    DeliveryStatus.CANCELLED: 3,
}


def can_move(current: DeliveryStatus, new: DeliveryStatus) -> bool:
    """True when `current -> new` moves forward.

    A retry is the one step back: a worker that meets a transient error puts a `sending` delivery back to `queued`.
    """
    if current is DeliveryStatus.SENDING and new is DeliveryStatus.QUEUED:
        return True
    if current.is_final:
        return False
    return new.rank > current.rank


@dataclass(frozen=True, slots=True)
class StaffView:
    id: int
    name: str
    email: str
    phone: str | None
    accepts_texts: bool
    sms_opted_out: bool
    default_method: DeliveryMethod
    active: bool = True
    sms_opted_out_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AttachmentView:
    id: int
    filename: str
    mime_type: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    channel: Channel
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    provider_id: str | None


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    staff_id: int
    direction: Direction
    author: str | None
    body: str
    created_at: datetime
    revision: int
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    note: str | None = None
    attachments: tuple[AttachmentView, ...] = field(default_factory=tuple)
    deliveries: tuple[DeliveryView, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    """A channel as every app's top bar shows it: paused (since when, why, when it is tried again) or running, and
    how many of its deliveries wait."""

    channel: Channel
    waiting: int = 0
    paused_since: datetime | None = None
    reason: str | None = None
    retry_at: datetime | None = None

    @property
    def paused(self) -> bool:
        return self.paused_since is not None
