"""Seeding the demo database from the shipped `data/` folder: the roster, then the sample conversations."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from staff_feed_tui.core.draft import check_attachment
from staff_feed_tui.core.roster import parse_roster
from staff_feed_tui.core.types import DeliveryStatus, Direction
from staff_feed_tui.store.attachments import AttachmentStore
from staff_feed_tui.store.db import read_session, write_session
from staff_feed_tui.store.feed import dispatcher_id
from staff_feed_tui.store.models import Attachment, Delivery, Message, Staff
from staff_feed_tui.store.staff import import_staff


def is_seeded(engine: Engine) -> bool:
    with read_session(engine) as session:
        return session.exec(select(Staff.id).limit(1)).first() is not None


def seed_demo(engine: Engine, store: AttachmentStore, data_dir: Path, *, now: datetime | None = None) -> int:
    """Load the demo roster and conversations; returns the number of messages. Call once, on an empty database."""
    rows, errors = parse_roster((data_dir / "demo_staff.csv").read_text(encoding="utf-8"))
    if errors:
        raise ValueError("the shipped demo roster is invalid: " + "; ".join(map(str, errors)))
    import_staff(engine, [row for _, row in rows])
    spec = json.loads((data_dir / "demo_conversations.json").read_text(encoding="utf-8"))
    local_now = (now or datetime.now().astimezone()).astimezone()
    files_dir = data_dir / "demo_files"
    count = 0
    with write_session(engine) as session:
        staff_ids = {s.email: s.id for s in session.exec(select(Staff))}
        for n, item in enumerate(spec["messages"]):
            day = local_now.date() - timedelta(days=item["days_ago"])
            hour, minute = map(int, item["time"].split(":"))
            created = datetime.combine(day, time(hour, minute), tzinfo=local_now.tzinfo)
            if created > local_now:  # a "today" time still in the future reads as a few minutes ago
                created = local_now - timedelta(minutes=5 * (len(spec["messages"]) - n))
            direction = Direction(item["direction"])
            message = Message(
                staff_id=staff_ids[item["staff"]],
                direction=direction.value,
                author_id=dispatcher_id(session, item["author"]) if direction is Direction.OUT else None,
                body=item["body"],
                created_at=created,
                external_id=f"SMdemo{n:04d}" if direction is Direction.IN else None,
            )
            session.add(message)
            session.flush()
            for name in item.get("attachments", []):
                file = check_attachment(files_dir / name)
                blob = store.put(file.path)
                session.add(
                    Attachment(
                        message_id=message.id,  # type: ignore[arg-type]
                        filename=file.filename,
                        mime_type=file.mime_type,
                        size=blob.size,
                        sha256=blob.sha256,
                        stored_path=blob.relative_path,
                    )
                )
            for channel, outcome in item.get("channels", {}).items():
                status, _, reason = outcome.partition(":")
                done = DeliveryStatus(status) is not DeliveryStatus.QUEUED
                session.add(
                    Delivery(
                        message_id=message.id,  # type: ignore[arg-type]
                        channel=channel,
                        status=status,
                        attempts=1 if done else 0,
                        next_attempt_at=created,
                        provider_id=f"demo-{n}-{channel}" if status in ("sent", "delivered") else None,
                        last_error=reason or None,
                        created_at=created,
                        updated_at=created + timedelta(seconds=3) if done else created,
                    )
                )
            count += 1
    return count
