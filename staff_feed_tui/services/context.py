"""The Services context: the opened parts (settings, engine, attachment store, the dispatcher's name) that every use
case takes, and `open_services`, which opens them from the settings: data dir, database (migrated), attachments.

The CLI and the tests call `open_services`; the TUI's app factory receives the result. Nothing here runs at import.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from staff_feed_tui.config import Settings
from staff_feed_tui.core.accounts import AccountError, check_acting_as
from staff_feed_tui.core.lockdown import SessionPolicy
from staff_feed_tui.services.session import session_policy
from staff_feed_tui.store.accounts import is_disabled
from staff_feed_tui.store.attachments import AttachmentStore
from staff_feed_tui.store.db import (
    DatabaseBusy,
    make_engine,
    prepare_data_dir,
    secure_database_file,
    sqlite_path,
    touch_database_file,
)
from staff_feed_tui.store.migrations import ensure_schema

__all__ = ["AttachmentStore", "DatabaseBusy", "Services", "current_user", "open_services"]


@dataclass
class Services:
    settings: Settings
    engine: Engine
    attachments: AttachmentStore
    dispatcher: str
    # What this session may reach beyond the app (editor, files); see core/lockdown.py.
    policy: SessionPolicy = field(default_factory=SessionPolicy)

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
    """Open the parts. `dispatcher` is `--as`: refused for someone else unless this is root or the service account,
    and for a disabled dispatcher (AccountError, a ValueError)."""
    prepare_data_dir(settings.data_dir, settings.shared_group)
    check_acting_as(dispatcher, os_user=current_user(), euid=os.geteuid(), data_owner=settings.data_dir.stat().st_uid)
    url = settings.database_url
    path = sqlite_path(url)
    if path is not None:
        touch_database_file(path, settings.shared_group)
    password = settings.database.password
    engine = make_engine(
        url, password=password.get_secret_value() if password else None, pool_size=settings.database.pool_size
    )
    if migrate:
        ensure_schema(engine)
    if path is not None:
        secure_database_file(path, settings.shared_group)
    attachments = AttachmentStore(settings.attachments_dir, shared_group=settings.shared_group)
    attachments.share()
    name = (dispatcher or current_user()).strip() or current_user()
    if is_disabled(engine, name):
        engine.dispose()
        raise AccountError(f"dispatcher {name!r} is disabled")
    return Services(
        settings=settings,
        engine=engine,
        attachments=attachments,
        dispatcher=name,
        policy=session_policy(settings, name, as_name=dispatcher, os_user=current_user()),
    )
