"""Drafts: what a dispatcher was writing to a staff member, kept until it is sent or cleared."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import select

from staff_feed_tui.store.db import read_session, write_session
from staff_feed_tui.store.feed import dispatcher_id
from staff_feed_tui.store.models import Dispatcher, Draft, utcnow


@dataclass(frozen=True, slots=True)
class DraftView:
    staff_id: int
    body: str
    attachments: tuple[str, ...]
    method: str | None


def save_draft(
    engine: Engine, dispatcher: str, staff_id: int, body: str, attachments: Sequence[str] = (), method: str | None = None
) -> None:
    """Keep the draft; an empty one (no text, no files) is removed."""
    with write_session(engine) as session:
        did = dispatcher_id(session, dispatcher)
        row = session.get(Draft, (did, staff_id))
        if not body.strip() and not attachments:
            if row is not None:
                session.delete(row)
            return
        if row is None:
            row = Draft(dispatcher_id=did, staff_id=staff_id)
        row.body = body
        row.attachments = json.dumps(list(attachments))
        row.method = method
        row.updated_at = utcnow()
        session.add(row)


def load_drafts(engine: Engine, dispatcher: str) -> dict[int, DraftView]:
    with read_session(engine) as session:
        rows = session.exec(
            select(Draft).join(Dispatcher, Dispatcher.id == Draft.dispatcher_id).where(Dispatcher.name == dispatcher)
        )
        return {
            r.staff_id: DraftView(r.staff_id, r.body, tuple(json.loads(r.attachments)), r.method) for r in rows
        }
