"""Read state per dispatcher: inbound messages past a dispatcher's read mark for a staff member are unread."""

from __future__ import annotations

from sqlalchemy import Engine, text

from staff_feed_tui.store.db import read_session, write_session
from staff_feed_tui.store.feed import dispatcher_id
from staff_feed_tui.store.models import ReadMark


def mark_read(engine: Engine, dispatcher: str, staff_id: int, up_to_message_id: int) -> None:
    """Move the mark forward to `up_to_message_id` (never back)."""
    with write_session(engine) as session:
        did = dispatcher_id(session, dispatcher)
        row = session.get(ReadMark, (did, staff_id))
        if row is None:
            session.add(ReadMark(dispatcher_id=did, staff_id=staff_id, last_read_id=up_to_message_id))
        elif up_to_message_id > row.last_read_id:
            row.last_read_id = up_to_message_id
            session.add(row)


def mark_unread_from(engine: Engine, dispatcher: str, staff_id: int, message_id: int) -> None:
    """`M`: this message and the ones after it become unread again (the mark moves back)."""
    with write_session(engine) as session:
        did = dispatcher_id(session, dispatcher)
        row = session.get(ReadMark, (did, staff_id))
        if row is None:
            row = ReadMark(dispatcher_id=did, staff_id=staff_id, last_read_id=0)
        row.last_read_id = max(0, min(row.last_read_id, message_id - 1))
        session.add(row)


def unread_counts(engine: Engine, dispatcher: str) -> dict[int, int]:
    """Unread inbound messages per staff member, for this dispatcher."""
    with read_session(engine) as session:
        rows = session.execute(
            text(
                """
                SELECT m.staff_id, count(*)
                  FROM message m
                  LEFT JOIN read_mark r
                         ON r.staff_id = m.staff_id
                        AND r.dispatcher_id = (SELECT id FROM dispatcher WHERE name = :name)
                 WHERE m.direction = 'in' AND m.deleted_at IS NULL AND m.id > coalesce(r.last_read_id, 0)
                 GROUP BY m.staff_id
                """
            ),
            {"name": dispatcher},
        ).all()
        return {staff_id: count for staff_id, count in rows}


def newest_message_id(engine: Engine) -> int:
    with read_session(engine) as session:
        return session.execute(text("SELECT coalesce(max(id), 0) FROM message")).scalar_one()


def last_read_id(engine: Engine, dispatcher: str, staff_id: int) -> int:
    with read_session(engine) as session:
        value = session.execute(
            text(
                "SELECT r.last_read_id FROM read_mark r JOIN dispatcher d ON d.id = r.dispatcher_id"
                " WHERE d.name = :name AND r.staff_id = :staff"
            ),
            {"name": dispatcher, "staff": staff_id},
        ).scalar()
        return int(value or 0)


def unread_counts_for(engine: Engine, dispatcher: str, staff_ids: list[int]) -> dict[int, int]:
    """Unread counts for a few staff members, each a short range on the inbound index (for a new arrival)."""
    with read_session(engine) as session:
        counts = {}
        for staff_id in staff_ids:
            counts[staff_id] = session.execute(
                text(
                    """
                    SELECT count(*) FROM message
                     WHERE staff_id = :staff AND direction = 'in' AND deleted_at IS NULL
                       AND id > coalesce((SELECT r.last_read_id FROM read_mark r JOIN dispatcher d
                                           ON d.id = r.dispatcher_id WHERE d.name = :name AND r.staff_id = :staff), 0)
                    """
                ),
                {"name": dispatcher, "staff": staff_id},
            ).scalar_one()
        return counts
