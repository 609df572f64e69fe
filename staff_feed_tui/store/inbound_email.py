"""Emails that came back, as mail-in writes them: a reply into a feed or into triage, an auto-reply or a delay as a
note on the message it answers, a bounce as the end of an email delivery.

Each write is one BEGIN IMMEDIATE transaction that also records the email in `inbound_email`, whose `mail_key` (the
Message-ID) is unique: a message handed over twice (an IMAP restart, an MTA retrying LMTP) is stored once, and the
second copy is reported as a duplicate so that it can be acknowledged all the same.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Engine, func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from staff_feed_tui.core.types import Channel, DeliveryStatus, Direction, can_move
from staff_feed_tui.store.db import read_session, write_session
from staff_feed_tui.store.inbound import Outcome, Received, StoredMedia, _add_attachments
from staff_feed_tui.store.models import Delivery, InboundEmail, InboundTriage, Message, Staff, utcnow


class MailKind(str, enum.Enum):
    REPLY = "reply"
    TRIAGE = "triage"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    DELAY = "delay"
    UNMATCHED = "unmatched"  # an auto-reply or bounce that names nothing of ours: kept, shown nowhere


@dataclass(frozen=True, slots=True)
class KeptEmail:
    """An email's record: its key, sender, subject and the original, already in the attachment store."""

    mail_key: str
    from_address: str
    subject: str
    stored_path: str
    size: int


class DuplicateMail(Exception):
    """This email (its Message-ID) is stored already: nothing was written."""


def staff_by_address(engine: Engine, address: str) -> int | None:
    """The staff member with this email address (any case); an active one first."""
    with read_session(engine) as session:
        return session.exec(
            select(Staff.id)
            .where(func.lower(Staff.email) == address.strip().lower())
            .order_by(col(Staff.active).desc(), col(Staff.id))
        ).first()


def _record(session: Session, kept: KeptEmail, kind: MailKind, now: datetime, **links: int | None) -> None:
    """The email's row: its unique mail_key fails here (IntegrityError) for a second copy. A plain INSERT, not an
    ORM object: a reply's write is most of mail-in's time per email."""
    row = {"message_id": None, "triage_id": None, "delivery_id": None, **links}
    session.execute(insert(InboundEmail).values(
        mail_key=kept.mail_key, kind=kind.value, from_address=kept.from_address, subject=kept.subject,
        stored_path=kept.stored_path, size=kept.size, received_at=now, **row))


def receive_email(
    engine: Engine,
    kept: KeptEmail,
    *,
    body: str,
    staff_id: int | None,
    media: Sequence[StoredMedia] = (),
    note: str | None = None,
    triage_reason: str | None = None,
    now: datetime | None = None,
) -> Received:
    """A reply into `staff_id`'s feed (direction received, channel email), or into triage when `staff_id` is None
    (with `triage_reason` as its note); also into triage when `staff_id` names nobody (any more)."""
    now = now or utcnow()
    external_id = f"email:{kept.mail_key}"
    try:
        with write_session(engine) as session:
            if staff_id is not None and session.get(Staff, staff_id) is None:
                triage_reason = f"the reply token names staff member {staff_id}, who no longer exists"
                staff_id = None
            if staff_id is None:
                triage = InboundTriage(external_id=external_id, from_number=kept.from_address, channel="email",
                                       body=body, media=json.dumps([asdict(m) for m in media]),
                                       note="; ".join(filter(None, [triage_reason, note])) or None, received_at=now)
                session.add(triage)
                session.flush()
                _record(session, kept, MailKind.TRIAGE, now, triage_id=triage.id)
                return Received(Outcome.TRIAGE)
            inserted = session.execute(insert(Message).values(
                staff_id=staff_id, direction=Direction.IN.value, channel=Channel.EMAIL.value, body=body,
                created_at=now, revision=1, external_id=external_id, note=note))
            message_id = inserted.inserted_primary_key[0]
            _record(session, kept, MailKind.REPLY, now, message_id=message_id)  # a second copy fails here: rollback
            _add_attachments(session, message_id, media)
            return Received(Outcome.STORED, staff_id, message_id)
    except IntegrityError:
        return Received(Outcome.DUPLICATE)


def note_on_answered(
    engine: Engine,
    kept: KeptEmail,
    *,
    kind: MailKind,
    staff_id: int | None,
    answered: Sequence[int],
    note: str,
    now: datetime | None = None,
) -> int | None:
    """Put `note` under the outgoing message an auto-reply or a delay notice answers: the first of `answered` that is
    an outgoing message of `staff_id`'s, else their latest outgoing email. Returns that message's id (None: no
    message of theirs, the email is only recorded). Raises DuplicateMail for an email stored already."""
    now = now or utcnow()
    try:
        with write_session(engine) as session:
            target = _answered_message(session, staff_id, answered)
            _record(session, kept, kind if target else MailKind.UNMATCHED, now, message_id=target.id if target else None)
            if target is None:
                return None
            target.note = note
            target.revision += 1
            session.add(target)
            return target.id
    except IntegrityError:
        raise DuplicateMail(kept.mail_key) from None


def _answered_message(session: Session, staff_id: int | None, answered: Sequence[int]) -> Message | None:
    if staff_id is None:
        return None
    for message_id in answered:
        row = session.get(Message, message_id)
        if row is not None and row.staff_id == staff_id and row.direction == Direction.OUT.value:
            return row
    return session.exec(
        select(Message)
        .where(Message.staff_id == staff_id, Message.direction == Direction.OUT.value)
        .where(select(Delivery.id).where(Delivery.message_id == Message.id,
                                          Delivery.channel == Channel.EMAIL.value).exists())
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
    ).first()


@dataclass(frozen=True, slots=True)
class BounceResult:
    delivery_id: int | None  # the email delivery the bounce named (None: none matched)
    changed: bool  # it became bounced now (False: a duplicate, or not from sent or delivered)


def bounce_delivery(
    engine: Engine,
    kept: KeptEmail,
    *,
    delivery_id: int | None,
    original_message_id: str | None,
    failed: bool,
    reason: str,
    now: datetime | None = None,
) -> BounceResult:
    """A bounce: the email delivery `delivery_id` (from the VERP address), else the one whose Message-ID was
    `original_message_id`, becomes bounced with `reason`. A delay notice (`failed` False) is a note on its message.
    Raises DuplicateMail for an email stored already."""
    now = now or utcnow()
    try:
        with write_session(engine) as session:
            row = None
            if delivery_id is not None:
                row = session.get(Delivery, delivery_id)
            if row is None and original_message_id:
                row = session.exec(select(Delivery).where(Delivery.provider_id == original_message_id)).first()
            if row is None or row.channel != Channel.EMAIL.value:
                _record(session, kept, MailKind.UNMATCHED, now)
                return BounceResult(None, False)
            _record(session, kept, MailKind.BOUNCE if failed else MailKind.DELAY, now,
                    delivery_id=row.id, message_id=row.message_id)
            if not failed:
                message = session.get(Message, row.message_id)
                if message is not None:
                    message.note = f"email delayed: {reason}"
                    message.revision += 1
                    session.add(message)
                return BounceResult(row.id, False)
            if not can_move(DeliveryStatus(row.status), DeliveryStatus.BOUNCED):
                return BounceResult(row.id, False)
            row.status = DeliveryStatus.BOUNCED.value
            row.last_error = reason
            row.updated_at = now
            session.add(row)
            message = session.get(Message, row.message_id)
            staff = session.get(Staff, message.staff_id) if message is not None else None
            if staff is not None:
                staff.email_bounced_at = now
                session.add(staff)
            return BounceResult(row.id, True)
    except IntegrityError:
        raise DuplicateMail(kept.mail_key) from None


def original_of(engine: Engine, message_id: int) -> str | None:
    """Where the original email of a received message is kept (also one that was assigned from triage)."""
    with read_session(engine) as session:
        from_triage = select(InboundTriage.id).where(InboundTriage.message_id == message_id)
        return session.exec(
            select(InboundEmail.stored_path)
            .where(or_(InboundEmail.message_id == message_id, col(InboundEmail.triage_id).in_(from_triage)))
            .where(col(InboundEmail.kind).in_([MailKind.REPLY.value, MailKind.TRIAGE.value]))
        ).first()
