"""The Conversation Feed's use cases: pages, a window around a message, search, what a dispatcher has read,
removing and restoring messages, and a dispatcher's retry or cancel of a delivery.

Most of these are one store query each, called with the context's engine and dispatcher; they live here so that
the TUI, the CLI and the coming front ends share one list of what can be done to a feed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from staff_feed_tui.core.filters import FeedFilter
from staff_feed_tui.core.types import MessageView
from staff_feed_tui.services.context import DatabaseBusy, Services
from staff_feed_tui.store import feed, outbox, reads
from staff_feed_tui.store.feed import FeedKey
from staff_feed_tui.store.outbox import DeliveryStateError
from staff_feed_tui.store.staff import list_staff

__all__ = [
    "DeliveryChanges",
    "DeliveryStateError",
    "FeedKey",
    "cancel_deliveries",
    "dispatcher_names",
    "feed_around",
    "feed_page",
    "get_messages",
    "iter_feed",
    "last_read_id",
    "mark_read",
    "mark_unread_from",
    "newest_message_id",
    "remove_message",
    "removed_messages",
    "restore_message",
    "retry_deliveries",
    "search_all_staff",
    "search_feed",
    "unread_counts",
    "unread_counts_for",
]

# ---- reading a feed ------------------------------------------------------------------------------------------


def feed_page(
    services: Services,
    staff_id: int,
    *,
    before: FeedKey | None = None,
    after: FeedKey | None = None,
    limit: int = 100,
    oldest: bool = False,
    only: FeedFilter | None = None,
) -> list[MessageView]:
    """A page of a feed, oldest first (see `store.feed.feed_page` for which page the keys choose)."""
    return feed.feed_page(services.engine, staff_id, before=before, after=after, limit=limit, oldest=oldest,
                          only=only)


def iter_feed(
    services: Services, staff_id: int, *, only: FeedFilter | None = None, deleted_only: bool = False
) -> Iterator[MessageView]:
    """The whole feed (or what matches `only`; or only the removed messages), oldest first, a page at a time."""
    return feed.iter_feed(services.engine, staff_id, only=only, deleted_only=deleted_only)


def feed_around(
    services: Services, staff_id: int, message_id: int, *, limit: int = 100, only: FeedFilter | None = None
) -> tuple[list[MessageView], bool, bool]:
    """A window around `message_id` (a search hit), and whether it reaches the oldest and the newest message."""
    return feed.feed_around(services.engine, staff_id, message_id, limit=limit, only=only)


def get_messages(services: Services, ids: Sequence[int]) -> list[MessageView]:
    return feed.get_messages(services.engine, ids)


def removed_messages(services: Services, staff_id: int) -> list[MessageView]:
    """A staff member's removed messages, the latest removal first (the History tab)."""
    removed = list(iter_feed(services, staff_id, deleted_only=True))
    removed.sort(key=lambda m: (m.deleted_at or m.created_at, m.id), reverse=True)
    return removed


def dispatcher_names(services: Services) -> list[str]:
    return feed.dispatcher_names(services.engine)


# ---- search --------------------------------------------------------------------------------------------------


def search_feed(
    services: Services, staff_id: int, text: str, *, only: FeedFilter | None = None, limit: int = 2000
) -> list[FeedKey]:
    """Where `text` matches in one feed (within `only`): keys, newest first, at most `limit`."""
    return feed.search_feed(services.engine, staff_id, text, only=only, limit=limit)


def search_all_staff(services: Services, text: str, *, limit: int = 200) -> tuple[list[MessageView], dict[int, str]]:
    """The latest matches across every feed, newest first, with the names of the staff members they belong to
    (the inactive included: an old match still names its staff member)."""
    hits = feed.search_all(services.engine, text, limit=limit)
    names = {s.id: s.name for s in list_staff(services.engine, include_inactive=True)} if hits else {}
    return hits, names


# ---- what this dispatcher has read ---------------------------------------------------------------------------


def mark_read(services: Services, staff_id: int, up_to_message_id: int) -> None:
    reads.mark_read(services.engine, services.dispatcher, staff_id, up_to_message_id)


def mark_unread_from(services: Services, staff_id: int, message_id: int) -> None:
    reads.mark_unread_from(services.engine, services.dispatcher, staff_id, message_id)


def unread_counts(services: Services) -> dict[int, int]:
    return reads.unread_counts(services.engine, services.dispatcher)


def unread_counts_for(services: Services, staff_ids: list[int]) -> dict[int, int]:
    return reads.unread_counts_for(services.engine, services.dispatcher, staff_ids)


def last_read_id(services: Services, staff_id: int) -> int:
    return reads.last_read_id(services.engine, services.dispatcher, staff_id)


def newest_message_id(services: Services) -> int:
    return reads.newest_message_id(services.engine)


# ---- remove and restore --------------------------------------------------------------------------------------


def remove_message(services: Services, message_id: int) -> list[str]:
    """Remove a message from its feed (kept for History); returns the channels it had already gone out by.
    Raises LookupError when it is gone or already removed."""
    return feed.remove_message(services.engine, message_id, services.dispatcher)


def restore_message(services: Services, message_id: int) -> None:
    """Put a removed message back; raises LookupError when it is not removed (another dispatcher restored it)."""
    feed.restore_message(services.engine, message_id, services.dispatcher)


# ---- a dispatcher's retry and cancel -------------------------------------------------------------------------


@dataclass
class DeliveryChanges:
    """How a retry or a cancel of several deliveries went: each delivery succeeds or fails alone."""

    done: int = 0
    problems: list[str] = field(default_factory=list)


def retry_deliveries(services: Services, delivery_ids: Sequence[int]) -> DeliveryChanges:
    """Queue failed deliveries again (the one step back a status may take)."""
    return _change_each(services, delivery_ids, outbox.retry_delivery)


def cancel_deliveries(services: Services, delivery_ids: Sequence[int]) -> DeliveryChanges:
    """Cancel deliveries that no worker has taken yet."""
    return _change_each(services, delivery_ids, outbox.cancel_delivery)


def _change_each(
    services: Services, delivery_ids: Sequence[int], change: Callable[..., None]
) -> DeliveryChanges:
    result = DeliveryChanges()
    for delivery_id in delivery_ids:
        try:
            change(services.engine, delivery_id)
            result.done += 1
        except (DeliveryStateError, DatabaseBusy) as exc:
            result.problems.append(str(exc))
    return result
