"""Messages: queueing an outgoing one (the outbox write), and reading a feed a page at a time.

Pages use keyset pagination on `(created_at, id)`, so equal timestamps never cause gaps or repeats and a page costs
the same at any depth (index `ix_message_feed`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import Engine, and_, or_
from sqlmodel import Session, col, select

from staff_feed_tui.core.draft import AttachmentFile
from staff_feed_tui.core.types import Channel, DeliveryMethod, DeliveryStatus, Direction, MessageView
from staff_feed_tui.store.attachments import AttachmentStore
from staff_feed_tui.store.db import read_session, write_session
from staff_feed_tui.store.models import Attachment, Delivery, Dispatcher, Message, Staff, utcnow
from staff_feed_tui.store.views import message_view

FeedKey = tuple[datetime, int]


def dispatcher_id(session: Session, name: str) -> int:
    """The id of the dispatcher called `name`, created on first use. Call inside a write session."""
    row = session.exec(select(Dispatcher).where(Dispatcher.name == name)).first()
    if row is None:
        row = Dispatcher(name=name)
        session.add(row)
        session.flush()
    assert row.id is not None
    return row.id


def queue_message(
    engine: Engine,
    store: AttachmentStore,
    *,
    staff_id: int,
    author: str,
    body: str,
    files: Sequence[AttachmentFile] = (),
    method: DeliveryMethod = DeliveryMethod.EMAIL,
    sms_with_files: bool = True,
    now: datetime | None = None,
) -> int:
    """Write the message, its attachments and one queued delivery per channel in one transaction.

    Files are copied into the attachment store first; a copy whose transaction then fails is an unreferenced blob,
    never a message with a missing file. Nothing here talks to SMTP or Twilio: the outbox worker does that.
    """
    stored = [(f, store.put(f.path)) for f in files]
    created = now or utcnow()
    with write_session(engine) as session:
        if session.get(Staff, staff_id) is None:
            raise LookupError(f"no staff member has id {staff_id}")
        message = Message(
            staff_id=staff_id,
            direction=Direction.OUT.value,
            author_id=dispatcher_id(session, author),
            body=body,
            created_at=created,
        )
        session.add(message)
        session.flush()
        assert message.id is not None
        for file, blob in stored:
            session.add(
                Attachment(
                    message_id=message.id,
                    filename=file.filename,
                    mime_type=file.mime_type,
                    size=blob.size,
                    sha256=blob.sha256,
                    stored_path=blob.relative_path,
                )
            )
        for channel in method.channels:
            session.add(
                Delivery(
                    message_id=message.id,
                    channel=channel.value,
                    status=DeliveryStatus.QUEUED.value,
                    with_files=sms_with_files or channel is not Channel.SMS,
                    next_attempt_at=created,
                    created_at=created,
                    updated_at=created,
                )
            )
        return message.id


def load_messages(session: Session, rows: Sequence[Message]) -> list[MessageView]:
    """Views for `rows`, with their authors, attachments and deliveries fetched in three queries, not 3×N."""
    ids = [r.id for r in rows]
    if not ids:
        return []
    attachments: dict[int, list[Attachment]] = defaultdict(list)
    for a in session.exec(select(Attachment).where(col(Attachment.message_id).in_(ids))):
        attachments[a.message_id].append(a)
    deliveries: dict[int, list[Delivery]] = defaultdict(list)
    for d in session.exec(select(Delivery).where(col(Delivery.message_id).in_(ids))):
        deliveries[d.message_id].append(d)
    people = {r.author_id for r in rows} | {r.deleted_by_id for r in rows}
    people.discard(None)
    names = {}
    if people:
        names = {d.id: d.name for d in session.exec(select(Dispatcher).where(col(Dispatcher.id).in_(people)))}
    return [
        message_view(
            r,
            author=names.get(r.author_id) if r.author_id else None,
            deleted_by=names.get(r.deleted_by_id) if r.deleted_by_id else None,
            attachments=attachments.get(r.id, []),  # type: ignore[arg-type]
            deliveries=deliveries.get(r.id, []),  # type: ignore[arg-type]
        )
        for r in rows
    ]


def feed_page(
    engine: Engine,
    staff_id: int,
    *,
    before: FeedKey | None = None,
    after: FeedKey | None = None,
    limit: int = 100,
    include_deleted: bool = False,
    oldest: bool = False,
) -> list[MessageView]:
    """Up to `limit` messages, oldest first.

    With `before`, the newest messages older than that key; with `after`, the oldest newer than it; with `oldest`,
    the very first page; with none of them, the newest page.
    """
    query = select(Message).where(Message.staff_id == staff_id)
    if not include_deleted:
        query = query.where(col(Message.deleted_at).is_(None))
    newest_first = after is None and not oldest
    if before is not None:
        query = query.where(
            or_(Message.created_at < before[0], and_(Message.created_at == before[0], col(Message.id) < before[1]))
        )
    if after is not None:
        query = query.where(
            or_(Message.created_at > after[0], and_(Message.created_at == after[0], col(Message.id) > after[1]))
        )
    if newest_first:
        query = query.order_by(col(Message.created_at).desc(), col(Message.id).desc())
    else:
        query = query.order_by(col(Message.created_at), col(Message.id))
    with read_session(engine) as session:
        rows = list(session.exec(query.limit(limit)))
        if newest_first:
            rows.reverse()
        return load_messages(session, rows)


def iter_feed(engine: Engine, staff_id: int, *, page: int = 500, include_deleted: bool = False) -> Iterator[MessageView]:
    """The whole feed, oldest first, a page at a time."""
    rows = feed_page(engine, staff_id, oldest=True, limit=page, include_deleted=include_deleted)
    while True:
        yield from rows
        if len(rows) < page:
            return
        rows = feed_page(engine, staff_id, after=(rows[-1].created_at, rows[-1].id), limit=page,
                         include_deleted=include_deleted)


def get_messages(engine: Engine, ids: Sequence[int]) -> list[MessageView]:
    """Fresh views of the given messages (deleted ones included), in id order."""
    if not ids:
        return []
    with read_session(engine) as session:
        rows = list(session.exec(select(Message).where(col(Message.id).in_(list(ids))).order_by(col(Message.id))))
        return load_messages(session, rows)
