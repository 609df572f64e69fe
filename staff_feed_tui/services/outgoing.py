"""Outgoing messages: every check on a draft in one place, queueing it (the one path that the composer and
`staff-feed send` share), and the drafts a dispatcher keeps per staff member. Sending itself is the delivery
worker's; this only writes the message and its deliveries to the outbox."""

from __future__ import annotations

import os
from collections.abc import Sequence

from staff_feed_tui.core.draft import (
    AttachmentFile,
    DraftError,
    check_attachment,
    check_draft,
    check_email_size,
    check_sms_text,
    mms_problems,
)
from staff_feed_tui.core.texting import sms_unavailable_reason
from staff_feed_tui.core.types import Channel, DeliveryMethod, StaffView
from staff_feed_tui.services.context import Services
from staff_feed_tui.store import drafts
from staff_feed_tui.store.drafts import DraftView
from staff_feed_tui.store.feed import queue_message

__all__ = ["DraftView", "MmsLimitError", "check_outgoing", "load_drafts", "queue_outgoing", "save_draft"]


def queue_outgoing(
    services: Services,
    *,
    staff: StaffView,
    body: str,
    attachments: Sequence[str | os.PathLike[str] | AttachmentFile] = (),
    method: DeliveryMethod = DeliveryMethod.EMAIL,
    files_by_email: bool = False,
) -> int:
    """Check a draft and queue it: the one path that the composer and `staff-feed send` share.

    `files_by_email` answers the MMS question: files that cannot go by text go by email only (an SMS-only message
    then also goes by email, carrying the files). Raises DraftError with a sentence for a dispatcher; nothing is
    stored then.
    """
    files = check_outgoing(services, staff=staff, body=body, attachments=attachments, method=method,
                           files_by_email=files_by_email)
    text = check_draft(body, files)
    sms_with_files = True
    if Channel.SMS in method.channels and files and mms_problems(files):
        sms_with_files = False
        method = DeliveryMethod.BOTH
    return queue_message(
        services.engine,
        services.attachments,
        staff_id=staff.id,
        author=services.dispatcher,
        body=text,
        files=files,
        method=method,
        sms_with_files=sms_with_files,
    )


class MmsLimitError(DraftError):
    """Files that a text cannot carry: the composer asks whether to send them by email only."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems) + " (send the files by email only, or remove them)")
        self.problems = problems


def check_outgoing(
    services: Services,
    *,
    staff: StaffView,
    body: str,
    attachments: Sequence[str | os.PathLike[str] | AttachmentFile] = (),
    method: DeliveryMethod = DeliveryMethod.EMAIL,
    files_by_email: bool = False,
) -> list[AttachmentFile]:
    """Every check on a draft, in one place; returns the checked files or raises DraftError."""
    settings = services.settings
    files: list[AttachmentFile] = []
    for item in attachments:
        files.append(item if isinstance(item, AttachmentFile) else check_attachment(item, files))
    if files and (Channel.EMAIL in method.channels or files_by_email):
        check_email_size(files, settings.email.max_attachment_bytes)
    if Channel.SMS in method.channels:
        reason = sms_unavailable_reason(settings.company.text_messaging, staff)
        if reason:
            raise DraftError(f"cannot send by SMS: {reason}")
        check_sms_text(body.rstrip())
        problems = mms_problems(files) if files else []
        if problems and not files_by_email:
            raise MmsLimitError(problems)
    return files


def save_draft(
    services: Services, staff_id: int, body: str, attachments: Sequence[str] = (), method: str | None = None
) -> None:
    """Keep this dispatcher's draft to a staff member (an empty one is removed), so it survives a restart."""
    drafts.save_draft(services.engine, services.dispatcher, staff_id, body, attachments, method)


def load_drafts(services: Services) -> dict[int, DraftView]:
    """This dispatcher's saved drafts, by staff id."""
    return drafts.load_drafts(services.engine, services.dispatcher)
