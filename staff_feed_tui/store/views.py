"""ORM rows to the view dataclasses of `core.types`. Nothing outside `store` sees a row."""

from __future__ import annotations

from staff_feed_tui.core.types import (
    AttachmentView,
    Channel,
    DeliveryMethod,
    DeliveryStatus,
    DeliveryView,
    Direction,
    MessageView,
    StaffView,
)
from staff_feed_tui.store.models import Attachment, Delivery, Message, Staff


def staff_view(row: Staff) -> StaffView:
    assert row.id is not None
    return StaffView(
        id=row.id,
        name=row.name,
        email=row.email,
        phone=row.phone,
        accepts_texts=row.accepts_texts,
        sms_opted_out=row.sms_opted_out,
        default_method=DeliveryMethod(row.default_method),
        active=row.active,
        sms_opted_out_at=row.sms_opted_out_at,
        email_bounced=row.email_bounced_at is not None,
    )


def attachment_view(row: Attachment) -> AttachmentView:
    assert row.id is not None
    return AttachmentView(id=row.id, filename=row.filename, mime_type=row.mime_type, size=row.size, sha256=row.sha256)


def delivery_view(row: Delivery) -> DeliveryView:
    assert row.id is not None
    return DeliveryView(
        id=row.id,
        channel=Channel(row.channel),
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        provider_id=row.provider_id,
    )


def message_view(
    row: Message,
    *,
    author: str | None,
    deleted_by: str | None,
    attachments: list[Attachment],
    deliveries: list[Delivery],
) -> MessageView:
    assert row.id is not None
    return MessageView(
        id=row.id,
        staff_id=row.staff_id,
        direction=Direction(row.direction),
        author=author,
        body=row.body,
        created_at=row.created_at,
        revision=row.revision,
        deleted_at=row.deleted_at,
        deleted_by=deleted_by,
        note=row.note,
        attachments=tuple(attachment_view(a) for a in sorted(attachments, key=lambda a: a.id or 0)),
        deliveries=tuple(delivery_view(d) for d in sorted(deliveries, key=lambda d: d.channel)),
        received_by=Channel(row.channel) if row.channel else None,
    )
