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
    # An email the receiving side returned after it had gone (a DSN or a plain bounce): final, from sent or delivered.
    BOUNCED = "bounced"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def is_final(self) -> bool:
        return self in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED,
                        DeliveryStatus.BOUNCED)

    @property
    def label(self) -> str:
        """The word shown in the feed. Failures shout, so they read without colour."""
        return self.value.upper() if self.is_failure else self.value

    @property
    def is_failure(self) -> bool:
        """Did not reach the staff member: a failed send, or an email that bounced afterwards."""
        return self in (DeliveryStatus.FAILED, DeliveryStatus.BOUNCED)


_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENDING: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.FAILED: 3,
    DeliveryStatus.CANCELLED: 3,
    DeliveryStatus.BOUNCED: 4,
}


def can_move(current: DeliveryStatus, new: DeliveryStatus) -> bool:
    """True when `current -> new` moves forward.

    A retry is the one step back: a worker that meets a transient error puts a `sending` delivery back to `queued`.
    """
    if current is DeliveryStatus.SENDING and new is DeliveryStatus.QUEUED:
        return True
    if new is DeliveryStatus.BOUNCED:  # a bounce can arrive after a delivery receipt
        return current in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
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
    email_bounced: bool = False  # an email to their address bounced (until the address changes)


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
    received_by: Channel | None = None  # the channel a received message came in by

    @property
    def channel(self) -> str:
        """email or sms (how it came in, or went out), or both (an outgoing message sent by email and SMS)."""
        if self.received_by is not None:
            return self.received_by.value
        channels = sorted({d.channel.value for d in self.deliveries})
        return channels[0] if len(channels) == 1 else ("both" if channels else "email")


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
