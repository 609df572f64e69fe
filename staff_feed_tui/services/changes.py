"""The change feed as a front end sees it: which feeds changed since the last look, whoever wrote them (this app's
worker, another dispatcher, the gateway).

Light on purpose (the standard library and `store.changes` only): the app imports it before its first paint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from staff_feed_tui.store import changes
from staff_feed_tui.store.changes import EVERYTHING, ChangedFeed, ChangeSource, WalWatch

if TYPE_CHECKING:
    from staff_feed_tui.services.context import Services

__all__ = ["EVERYTHING", "ChangeSource", "ChangedFeed", "WalWatch", "open_change_feed", "open_commit_watch"]


def open_change_feed(services: Services) -> ChangeSource | None:
    """A change feed on the context's database (SQLite's data_version, or PostgreSQL's LISTEN/NOTIFY).

    Open it before the first query, so that no write can fall between a load and the first poll."""
    return changes.open_change_feed(services.engine)


def open_commit_watch(services: Services) -> WalWatch | None:
    """Something to wait on that becomes readable the moment any process commits to the database (inotify), so the
    app wakes at once on a change instead of polling; None where there is none (not Linux, not a SQLite file)."""
    path = services.db_path
    return WalWatch.open(path) if path is not None else None
