"""Inbound texts and delivery receipts, as the gateway writes them.

Every write is one BEGIN IMMEDIATE transaction, so a webhook retried while the first copy is still being stored
(two requests racing) is stored once: the second sees the first's MessageSid, and the unique constraints back that
up.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from staff_feed_tui.core.types import DeliveryStatus, Direction, can_move
from staff_feed_tui.store.db import read_session, write_session
from staff_feed_tui.store.feed import dispatcher_id
from staff_feed_tui.store.models import Attachment, Delivery, InboundTriage, Message, Staff, utcnow


@dataclass(frozen=True, slots=True)
class StoredMedia:
    filename: str
    mime_type: str
    size: int
    sha256: str
    stored_path: str


class Outcome(enum.Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    TRIAGE = "triage"


@dataclass(frozen=True, slots=True)
class Received:
    outcome: Outcome
    staff_id: int | None = None
    message_id: int | None = None
    opted_out: bool | None = None  # True/False when the text changed the staff member's SMS opt-out state


def is_known_sid(engine: Engine, sid: str) -> bool:
    with read_session(engine) as session:
        return _known(session, sid)


def _known(session: Session, sid: str) -> bool:
    if session.exec(select(Message.id).where(Message.external_id == sid)).first() is not None:
        return True
    return session.exec(select(InboundTriage.id).where(InboundTriage.external_id == sid)).first() is not None


def _add_attachments(session: Session, message_id: int, media: Sequence[StoredMedia]) -> None:
    for m in media:
        session.add(
            Attachment(
                message_id=message_id,
                filename=m.filename,
                mime_type=m.mime_type,
                size=m.size,
                sha256=m.sha256,
                stored_path=m.stored_path,
            )
        )


def receive_sms(
    engine: Engine,
    *,
    sid: str,
    from_number: str,
    body: str,
    media: Sequence[StoredMedia] = (),
    note: str | None = None,
    now: datetime | None = None,
    sms_opt_out: bool | None = None,
) -> Received:
    """Store an inbound text in its staff member's feed, or in triage when no staff member has the number.

    `sms_opt_out` (True or False, decided by the caller's policy: `services.inbound`) sets the staff member's SMS
    opt-out state in the same transaction, when the text lands in a feed.
    """
    now = now or utcnow()
    try:
        with write_session(engine) as session:
            if _known(session, sid):
                return Received(Outcome.DUPLICATE)
            staff = session.exec(
                select(Staff).where(Staff.phone == from_number).order_by(col(Staff.active).desc(), col(Staff.id))
            ).first()
            if staff is None:
                session.add(
                    InboundTriage(
                        external_id=sid,
                        from_number=from_number,
                        body=body,
                        media=json.dumps([asdict(m) for m in media]),
                        note=note,
                        received_at=now,
                    )
                )
                return Received(Outcome.TRIAGE)
            assert staff.id is not None
            message = Message(
                staff_id=staff.id, direction=Direction.IN.value, channel="sms", body=body, created_at=now,
                external_id=sid, note=note,
            )
            session.add(message)
            session.flush()
            assert message.id is not None
            _add_attachments(session, message.id, media)
            changed = None
            if sms_opt_out is not None and sms_opt_out != staff.sms_opted_out:
                staff.sms_opted_out = sms_opt_out
                staff.sms_opted_out_at = now if sms_opt_out else None
                session.add(staff)
                changed = sms_opt_out
            return Received(Outcome.STORED, staff.id, message.id, changed)
    except IntegrityError:
        # Another process stored the same MessageSid between our check and our insert.
        return Received(Outcome.DUPLICATE)


# Twilio's MessageStatus values and where each moves a delivery. Earlier states (queued, accepted, sending) never
# move a delivery back; undelivered and failed end it.
_STATUS = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
}


def apply_status(
    engine: Engine, *, sid: str, status: str, error: str | None = None, now: datetime | None = None
) -> bool:
    """Move the delivery whose provider id is `sid` forward to `status`. Returns True when it changed."""
    target = _STATUS.get(status.lower())
    if target is None:
        return False
    now = now or utcnow()
    with write_session(engine) as session:
        row = session.exec(select(Delivery).where(Delivery.provider_id == sid)).first()
        if row is None or not can_move(DeliveryStatus(row.status), target):
            return False
        row.status = target.value
        row.updated_at = now
        if target is DeliveryStatus.FAILED:
            row.last_error = error or "the carrier could not deliver the text"
        session.add(row)
        return True


@dataclass(frozen=True, slots=True)
class TriageView:
    id: int
    from_number: str
    body: str
    received_at: datetime
    media_count: int
    note: str | None
    channel: str = "sms"  # a text from an unknown number, or an email from an unknown sender


def list_triage(engine: Engine) -> list[TriageView]:
    with read_session(engine) as session:
        rows = session.exec(
            select(InboundTriage).where(col(InboundTriage.resolved_at).is_(None)).order_by(col(InboundTriage.id))
        )
        return [
            TriageView(r.id, r.from_number, r.body, r.received_at, len(json.loads(r.media)), r.note, r.channel)  # type: ignore[arg-type]
            for r in rows
        ]


class TriageError(LookupError):
    """The triage entry is gone or already handled (by another dispatcher, say)."""


def assign_triage(engine: Engine, triage_id: int, staff_id: int, dispatcher: str, now: datetime | None = None) -> int:
    """Move a triaged text into a staff member's feed, keeping its time and files. Returns the new message id."""
    now = now or utcnow()
    with write_session(engine) as session:
        row = session.get(InboundTriage, triage_id)
        if row is None or row.resolved_at is not None:
            raise TriageError("that message was already assigned or dismissed")
        if session.get(Staff, staff_id) is None:
            raise TriageError(f"no staff member has id {staff_id}")
        message = Message(
            staff_id=staff_id,
            direction=Direction.IN.value,
            channel=row.channel,
            body=row.body,
            created_at=row.received_at,
            external_id=row.external_id,
            note=row.note,
        )
        row.external_id = f"assigned:{row.external_id}"  # the sid now belongs to the message
        session.add(row)
        session.flush()
        session.add(message)
        session.flush()
        assert message.id is not None
        _add_attachments(session, message.id, [StoredMedia(**m) for m in json.loads(row.media)])
        row.resolved_at = now
        row.resolved_by_id = dispatcher_id(session, dispatcher)
        row.assigned_staff_id = staff_id
        row.message_id = message.id
        session.add(row)
        return message.id


def dismiss_triage(engine: Engine, triage_id: int, dispatcher: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    with write_session(engine) as session:
        row = session.get(InboundTriage, triage_id)
        if row is None or row.resolved_at is not None:
            raise TriageError("that message was already assigned or dismissed")
        row.resolved_at = now
        row.resolved_by_id = dispatcher_id(session, dispatcher)
        session.add(row)
