"""Opening the project's parts from the settings: data dir, database (migrated), attachment store.

The CLI and the tests call `open_services`; the TUI's app factory receives the result. Nothing here runs at import.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from staff_feed_tui.config import Settings
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
from staff_feed_tui.store.attachments import AttachmentStore
from staff_feed_tui.store.db import (
    make_engine,
    prepare_data_dir,
    secure_database_file,
    sqlite_path,
    touch_database_file,
)
from staff_feed_tui.store.feed import queue_message
from staff_feed_tui.store.migrations import ensure_schema


@dataclass
class Services:
    settings: Settings
    engine: Engine
    attachments: AttachmentStore
    dispatcher: str

    @property
    def db_path(self) -> Path | None:
        return sqlite_path(self.settings.database_url)

    def close(self) -> None:
        self.engine.dispose()


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


def open_services(settings: Settings, *, dispatcher: str | None = None, migrate: bool = True) -> Services:
    prepare_data_dir(settings.data_dir, settings.shared_group)
    url = settings.database_url
    path = sqlite_path(url)
    if path is not None:
        touch_database_file(path, settings.shared_group)
    engine = make_engine(url)
    if migrate:
        ensure_schema(engine)
    if path is not None:
        secure_database_file(path, settings.shared_group)
    return Services(
        settings=settings,
        engine=engine,
        attachments=AttachmentStore(settings.attachments_dir),
        dispatcher=(dispatcher or current_user()).strip() or current_user(),
    )


def shipped_data_dir() -> Path:
    """The demo data: inside the wheel as `_data`, or the repo's `data/` in an editable install."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data", here.parent / "data"):
        if (candidate / "demo_staff.csv").is_file():
            return candidate
    raise FileNotFoundError("the demo data (demo_staff.csv) is missing from this installation")


def demo_settings(settings: Settings) -> Settings:
    """The demo: its own database in `<data dir>/demo`, texting on, and the file transports."""
    return settings.model_copy(
        update={
            "data_dir": settings.data_dir / "demo",
            "database": settings.database.model_copy(update={"url": None}),
            "company": settings.company.model_copy(
                update={"name": "Paws & Co. (demo)", "text_messaging": True, "sms_number": "+14155550100"}
            ),
            "email": settings.email.model_copy(
                update={"transport": "file", "from_address": "dispatch@paws.example", "reply_domain": None}
            ),
            "sms": settings.sms.model_copy(update={"transport": "file", "from_number": "+14155550100"}),
        }
    )


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
