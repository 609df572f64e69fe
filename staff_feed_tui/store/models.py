"""The tables. Rows never leave `store`: callers get the view dataclasses of `core.types` (see `views.py`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Index, Text, UniqueConstraint, event, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from staff_feed_tui.store.search import index_messages


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out. Stored as naive UTC text, which sorts correctly."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Staff(SQLModel, table=True):
    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    email: str = Field(unique=True)
    phone: str | None = Field(default=None, index=True)
    accepts_texts: bool = False
    sms_opted_out: bool = False
    sms_opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When an email to this address last bounced (cleared when the address changes): the staff list says so.
    email_bounced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    default_method: str = "email"
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Dispatcher(SQLModel, table=True):
    __tablename__ = "dispatcher"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # `staff-feed dispatcher disable`: their keys are gone and the app refuses their name.
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DispatcherKey(SQLModel, table=True):
    """An SSH public key that logs in to the service account as this dispatcher (see core/accounts.py)."""

    __tablename__ = "dispatcher_key"

    id: int | None = Field(default=None, primary_key=True)
    dispatcher_id: int = Field(foreign_key="dispatcher.id", index=True)
    fingerprint: str = Field(unique=True)  # a key is one identity: never two dispatchers'
    kind: str
    blob: str = Field(sa_type=Text)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Message(SQLModel, table=True):
    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_feed", "staff_id", "created_at", "id"),
        Index(
            "ix_message_inbound",
            "staff_id",
            "id",
            sqlite_where=text("direction = 'in' AND deleted_at IS NULL"),
            postgresql_where=text("direction = 'in' AND deleted_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id")
    direction: str
    author_id: int | None = Field(default=None, foreign_key="dispatcher.id")
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Bumped on every change that alters how the message renders; the feed caches lines per revision.
    revision: int = 1
    # A provider's id for an inbound message (Twilio MessageSid); unique, so a retried webhook is stored once.
    external_id: str | None = Field(default=None, unique=True)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deleted_by_id: int | None = Field(default=None, foreign_key="dispatcher.id")
    # Something a dispatcher should know about the message itself, e.g. an MMS file that could not be fetched.
    note: str | None = None
    # The last restore of a removed message, kept so the History shows who brought it back.
    restored_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    restored_by_id: int | None = Field(default=None, foreign_key="dispatcher.id")
    # How a received message came in (email or sms); None for an outgoing one, whose deliveries say.
    channel: str | None = None


@event.listens_for(Message, "after_insert")
def _index_for_search(_mapper: object, connection, target: Message) -> None:  # type: ignore[no-untyped-def]
    """Every message the ORM inserts is searchable on PostgreSQL too (SQLite's FTS5 triggers need nothing)."""
    index_messages(connection, [(target.id, target.body)])  # type: ignore[list-item]


class Attachment(SQLModel, table=True):
    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    filename: str
    mime_type: str
    size: int
    sha256: str
    stored_path: str


class Delivery(SQLModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("message_id", "channel"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id")
    channel: str
    status: str = "queued"
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_owner: str | None = None
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_id: str | None = Field(default=None, index=True)
    last_error: str | None = None
    # False for a text whose files go by email only (they broke the MMS limits).
    with_files: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The last dispatcher's retry of this delivery after it had failed.
    retried_by_id: int | None = Field(default=None, foreign_key="dispatcher.id")
    retried_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ChannelState(SQLModel, table=True):
    """A channel's health, written by whichever worker saw it, read by every app's top bar.

    A row with `paused_since` set means the channel is paused: the server or the account is in trouble, and its
    deliveries wait (using no attempts) until `retry_at`, when a worker tries again.
    """

    __tablename__ = "channel_state"

    channel: str = Field(primary_key=True)
    paused_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str | None = None
    failures: int = 0
    retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WorkerHeartbeat(SQLModel, table=True):
    """A running worker says it is alive every few seconds: an app starts its embedded worker only when no worker
    has beaten lately, and an embedded one hands over when a service worker (`kind = "service"`) appears."""

    __tablename__ = "worker_heartbeat"

    owner: str = Field(primary_key=True)
    kind: str
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    beat_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Change(SQLModel, table=True):
    """One row per change to a message, its deliveries or a staff member, written by triggers.

    The change feed reads rows past the last `seq` it saw, so every writer (the TUI, the worker, the gateway, another
    process) is seen the same way without telling anyone.
    """

    __tablename__ = "change"

    seq: int | None = Field(default=None, primary_key=True)
    staff_id: int
    message_id: int | None = None


class InboundTriage(SQLModel, table=True):
    """A text from a number that matches no staff member: kept for a dispatcher to assign or dismiss."""

    __tablename__ = "inbound_triage"

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(unique=True)
    # The sender: a number (E.164) for a text, an address for an email.
    from_number: str
    channel: str = "sms"
    body: str = Field(sa_type=Text)
    # JSON list of stored files: {"filename", "mime_type", "size", "sha256", "stored_path"}.
    media: str = "[]"
    note: str | None = None
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by_id: int | None = Field(default=None, foreign_key="dispatcher.id")
    assigned_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    message_id: int | None = Field(default=None, foreign_key="message.id")


class InboundEmail(SQLModel, table=True):
    """Every email that came back (a reply, an auto-reply, a bounce, a delay notice, or one for triage), once.

    `mail_key` is the Message-ID (or the sha256 of a message without one) and is unique: storing it is the dedupe,
    in the same transaction as what the email changed. The whole original is kept in the attachment store.
    """

    __tablename__ = "inbound_email"

    id: int | None = Field(default=None, primary_key=True)
    mail_key: str = Field(unique=True)
    kind: str
    from_address: str
    subject: str = ""
    stored_path: str
    size: int
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    triage_id: int | None = Field(default=None, foreign_key="inbound_triage.id", index=True)
    delivery_id: int | None = Field(default=None, foreign_key="delivery.id")
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReadMark(SQLModel, table=True):
    """How far a dispatcher has read a staff member's feed: inbound messages past it are unread."""

    __tablename__ = "read_mark"

    dispatcher_id: int = Field(foreign_key="dispatcher.id", primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
    last_read_id: int = 0


class Draft(SQLModel, table=True):
    """An unsent message, kept per dispatcher and staff member so it survives a restart."""

    __tablename__ = "draft"

    dispatcher_id: int = Field(foreign_key="dispatcher.id", primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
    body: str = Field(default="", sa_type=Text)
    attachments: str = "[]"  # JSON list of file paths, checked again when the draft is sent
    method: str | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
