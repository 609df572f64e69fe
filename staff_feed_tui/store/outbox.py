"""The outbox: claiming due deliveries with a lease, and recording what became of each.

A claim is one `UPDATE … RETURNING` inside BEGIN IMMEDIATE on SQLite, or over rows locked `FOR UPDATE SKIP LOCKED`
on PostgreSQL, so two workers (on any hosts) can never claim the same row. A lease
carries its owner and expiry; a worker that dies leaves a lease that runs out, and the next claim takes the
delivery again. Every result is written only while the caller still owns the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Row
from sqlmodel import col, select

from staff_feed_tui.core.types import Channel, DeliveryStatus
from staff_feed_tui.store.db import read_session, retrying, write_connection, write_session
from staff_feed_tui.store.dialects import Dialect, dialect_of
from staff_feed_tui.store.models import Delivery, utcnow


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    attachment_id: int
    filename: str
    mime_type: str
    size: int
    path: Path


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """All a sender needs for one delivery, read in the claim; senders never query the store."""

    delivery_id: int
    message_id: int
    channel: Channel
    attempt: int
    staff_id: int
    staff_name: str
    staff_email: str
    staff_phone: str | None
    author: str | None
    body: str
    created_at: datetime
    files: tuple[OutgoingFile, ...]


# The claim and the record run on the sender's hot path for every batch: they are written at the driver level
# (exec_driver_sql: no statement to compile, no ORM objects), in the formats UTCDateTime reads and writes.
_CLAIM = """
    UPDATE delivery
       SET status = 'sending', lease_owner = :owner, lease_until = :until,
           attempts = attempts + 1, updated_at = :now
     WHERE id IN (
           SELECT d.id FROM delivery d JOIN message m ON m.id = d.message_id
            WHERE m.deleted_at IS NULL AND {channel_in}
              AND ((d.status = 'queued' AND d.next_attempt_at <= :now)
                   OR (d.status = 'sending' AND d.lease_until < :now))
            ORDER BY d.next_attempt_at, d.id
            LIMIT :limit {skip_locked})
    RETURNING id, attempts
"""

_CLAIMED = """
    SELECT d.id, d.channel, m.id, m.body, m.created_at, s.id, s.name, s.email, s.phone, p.name, d.with_files
      FROM delivery d
      JOIN message m ON m.id = d.message_id
      JOIN staff s ON s.id = m.staff_id
      LEFT JOIN dispatcher p ON p.id = m.author_id
     WHERE {id_in}
     ORDER BY d.next_attempt_at, d.id
"""

_FILES = """
    SELECT id, message_id, filename, mime_type, size, stored_path FROM attachment
     WHERE {id_in}
     ORDER BY id
"""


@lru_cache(maxsize=4)
def _statements(dialect: Dialect) -> tuple[str, str, str]:
    """The claim and its reads in this engine's words (made once per engine)."""
    return (
        _CLAIM.format(channel_in=dialect.id_list("d.channel", "channels"), skip_locked=dialect.skip_locked),
        _CLAIMED.format(id_in=dialect.id_list("d.id", "ids")),
        _FILES.format(id_in=dialect.id_list("message_id", "ids")),
    )


def sql_time(moment: datetime) -> str:
    """A moment as UTCDateTime stores it: naive UTC text with microseconds, so text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def read_time(value: str | datetime) -> datetime:
    """A stored moment read at the driver level: text from SQLite, a naive datetime from PostgreSQL; aware UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC)


def claim_due_deliveries(
    engine: Engine,
    attachments_root: Path,
    *,
    owner: str,
    limit: int = 50,
    lease_s: float = 60.0,
    channels: Sequence[Channel] = (Channel.EMAIL, Channel.SMS),
    now: datetime | None = None,
) -> list[ClaimedDelivery]:
    """Claim up to `limit` due deliveries (queued and due, or sending with a lease that ran out).

    Only `channels` are claimed: a worker without an SMS transport leaves texts for one that has it.
    """
    now = now or utcnow()
    dialect = dialect_of(engine)
    claim_sql, claimed_sql, files_sql = _statements(dialect)
    params = {
        "owner": owner,
        "until": sql_time(now + timedelta(seconds=lease_s)),
        "now": sql_time(now),
        "limit": limit,
        "channels": dialect.id_values([c.value for c in channels]),
    }

    def claim() -> list[Row[Any]]:
        with write_connection(engine) as conn:
            return list(conn.exec_driver_sql(claim_sql, params).all())

    claimed = retrying(engine, claim)
    if not claimed:
        return []
    attempts = {row[0]: row[1] for row in claimed}
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(claimed_sql, {"ids": dialect.id_values(list(attempts))}).all()
        files: dict[int, list[OutgoingFile]] = {}
        for a_id, message_id, filename, mime_type, size, stored in conn.exec_driver_sql(
            files_sql, {"ids": dialect.id_values(sorted({r[2] for r in rows}))}
        ):
            files.setdefault(message_id, []).append(
                OutgoingFile(a_id, filename, mime_type, size, attachments_root / stored)
            )
    return [
        ClaimedDelivery(
            delivery_id=d_id,
            message_id=m_id,
            channel=Channel(channel),
            attempt=attempts[d_id],
            staff_id=s_id,
            staff_name=s_name,
            staff_email=s_email,
            staff_phone=s_phone,
            author=author,
            body=body,
            created_at=read_time(created),
            files=tuple(files.get(m_id, ())) if with_files else (),
        )
        for d_id, channel, m_id, body, created, s_id, s_name, s_email, s_phone, author, with_files in rows
    ]


@dataclass(frozen=True, slots=True)
class Result:
    """What became of one claimed delivery, to be written back."""

    delivery_id: int
    status: DeliveryStatus
    provider_id: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    opted_out_staff_id: int | None = None
    # Not tried, or stopped by the channel's trouble rather than its own: queued again, due now, attempt uncounted
    # (`error`, if given, says why it waits).
    released: bool = False


_RELEASE = """
    UPDATE delivery
       SET status = 'queued', updated_at = :now, lease_owner = NULL, lease_until = NULL,
           attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, next_attempt_at = :now, last_error = coalesce(:error, last_error)
     WHERE id = :id AND lease_owner = :owner AND status = 'sending'
"""

_RECORD = """
    UPDATE delivery
       SET status = :status, updated_at = :now, lease_owner = NULL, lease_until = NULL,
           provider_id = coalesce(:provider_id, provider_id), last_error = :error,
           next_attempt_at = coalesce(:next_attempt_at, next_attempt_at)
     WHERE id = :id AND lease_owner = :owner AND status = 'sending'
"""

_OPTED_OUT = """
    UPDATE staff SET sms_opted_out = TRUE, sms_opted_out_at = :now WHERE id = :id AND NOT sms_opted_out
"""


def record_results(engine: Engine, owner: str, results: Sequence[Result], now: datetime | None = None) -> int:
    """Write many results in one transaction; each only while `owner` still holds its lease.

    Returns how many were written (a result for a lease that ran out and was taken over is dropped).
    """
    if not results:
        return 0
    stamp = sql_time(now or utcnow())
    rows = [
        {
            "id": r.delivery_id,
            "owner": owner,
            "status": r.status.value,
            "now": stamp,
            "provider_id": r.provider_id if r.status is DeliveryStatus.SENT else None,
            "error": None if r.status is DeliveryStatus.SENT else r.error,
            "next_attempt_at": sql_time(r.next_attempt_at) if r.next_attempt_at else None,
        }
        for r in results
        if not r.released
    ]
    released = [{"id": r.delivery_id, "owner": owner, "now": stamp, "error": r.error} for r in results if r.released]
    opted_out = [{"id": r.opted_out_staff_id, "now": stamp} for r in results if r.opted_out_staff_id is not None]
    def record() -> int:
        written = 0
        with write_connection(engine) as conn:
            # One executemany for the group: statement by statement cost about 0.1 ms each.
            for statement, group in ((_RECORD, rows), (_RELEASE, released)):
                if group:
                    written += conn.exec_driver_sql(statement, group).rowcount  # type: ignore[arg-type]
            if opted_out:
                conn.exec_driver_sql(_OPTED_OUT, opted_out)  # type: ignore[arg-type]
        return written

    return retrying(engine, record)


def record_sent(engine: Engine, delivery_id: int, owner: str, provider_id: str | None) -> bool:
    return record_results(engine, owner, [Result(delivery_id, DeliveryStatus.SENT, provider_id=provider_id)]) == 1


def record_retry(engine: Engine, delivery_id: int, owner: str, error: str, next_attempt_at: datetime) -> bool:
    result = Result(delivery_id, DeliveryStatus.QUEUED, error=error, next_attempt_at=next_attempt_at)
    return record_results(engine, owner, [result]) == 1


def record_failed(engine: Engine, delivery_id: int, owner: str, error: str) -> bool:
    return record_results(engine, owner, [Result(delivery_id, DeliveryStatus.FAILED, error=error)]) == 1


class DeliveryStateError(ValueError):
    """A retry or a cancel that the delivery's current state does not allow, worded for a dispatcher."""


def _change_by_dispatcher(
    engine: Engine, delivery_id: int, *, expected: DeliveryStatus, verb: str, now: datetime | None, **values: object
) -> None:
    """A dispatcher's change to one delivery, allowed only from `expected` (checked inside the write lock)."""
    with write_session(engine) as session:
        row = session.get(Delivery, delivery_id)
        if row is None:
            raise DeliveryStateError("that delivery no longer exists")
        if row.status != expected.value:
            raise DeliveryStateError(f"only a {expected.value} delivery can be {verb}; this one is {row.status}")
        for key, value in {**values, "updated_at": now or utcnow()}.items():
            setattr(row, key, value)
        session.add(row)


def retry_delivery(engine: Engine, delivery_id: int, now: datetime | None = None) -> None:
    """A dispatcher's retry of a failed delivery: queued again, due now, with a fresh count of attempts."""
    now = now or utcnow()
    _change_by_dispatcher(engine, delivery_id, expected=DeliveryStatus.FAILED, verb="retried", now=now,
                          status=DeliveryStatus.QUEUED.value, attempts=0, next_attempt_at=now)


def retry_failed_deliveries(
    engine: Engine,
    dispatcher: str,
    *,
    channel: Channel | None = None,
    since: datetime | None = None,
    staff_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """A dispatcher's bulk retry: every failed delivery that matches (its channel, failed at or after `since`, to
    one staff member) is queued again, due now, with a fresh count of attempts and the dispatcher recorded."""
    from staff_feed_tui.store.feed import dispatcher_id

    now = now or utcnow()
    where = ["d.status = 'failed'", "m.deleted_at IS NULL"]
    params: dict[str, object] = {"now": sql_time(now)}
    if channel is not None:
        where.append("d.channel = :channel")
        params["channel"] = channel.value
    if since is not None:
        where.append("d.updated_at >= :since")
        params["since"] = sql_time(since)
    if staff_id is not None:
        where.append("m.staff_id = :staff_id")
        params["staff_id"] = staff_id
    with write_session(engine) as session:
        params["by"] = dispatcher_id(session, dispatcher)
        result = session.connection().exec_driver_sql(
            f"""UPDATE delivery SET status = 'queued', attempts = 0, next_attempt_at = :now, updated_at = :now,
                       lease_owner = NULL, lease_until = NULL, retried_by_id = :by, retried_at = :now
                 WHERE id IN (SELECT d.id FROM delivery d JOIN message m ON m.id = d.message_id
                               WHERE {' AND '.join(where)})""",  # fixed clauses; the values are bound
            params,
        )
        return result.rowcount


def cancel_delivery(engine: Engine, delivery_id: int, now: datetime | None = None) -> None:
    """Cancel a delivery that no worker has taken yet. One being sent cannot be called back."""
    _change_by_dispatcher(engine, delivery_id, expected=DeliveryStatus.QUEUED, verb="cancelled", now=now,
                          status=DeliveryStatus.CANCELLED.value, last_error=None)


def next_due_at(engine: Engine, channels: Sequence[Channel] = (Channel.EMAIL, Channel.SMS)) -> datetime | None:
    """When the next queued delivery falls due (a leased one: when its lease runs out), or None. Lets a worker sleep."""
    with read_session(engine) as session:
        queued = session.exec(
            select(Delivery.next_attempt_at)
            .where(Delivery.status == DeliveryStatus.QUEUED.value)
            .where(col(Delivery.channel).in_([c.value for c in channels]))
            .order_by(col(Delivery.next_attempt_at))
            .limit(1)
        ).first()
        leased = session.exec(
            select(Delivery.lease_until)
            .where(Delivery.status == DeliveryStatus.SENDING.value)
            .where(col(Delivery.channel).in_([c.value for c in channels]))
            .order_by(col(Delivery.lease_until))
            .limit(1)
        ).first()
        times = [t for t in (queued, leased) if t is not None]
        return min(times) if times else None


_GIVE_UP = """
    UPDATE delivery
       SET status = 'failed', updated_at = :now, lease_owner = NULL, lease_until = NULL,
           last_error = :words || coalesce(': ' || last_error, '')
     WHERE status = 'queued' AND created_at < :cutoff
"""


def give_up_overdue(engine: Engine, give_up_after_s: float, now: datetime | None = None) -> int:
    """Fail every queued delivery older than `give_up_after_s` (a mail queue's horizon), keeping its last error.
    Returns how many. A delivery on the wire finishes first: only queued ones are given up."""
    now = now or utcnow()
    words = f"gave up: not sent within {_duration(give_up_after_s)}"
    cutoff = now - timedelta(seconds=give_up_after_s)
    with write_connection(engine) as conn:
        return conn.exec_driver_sql(
            _GIVE_UP, {"now": sql_time(now), "cutoff": sql_time(cutoff), "words": words}
        ).rowcount


def _duration(seconds: float) -> str:
    """172800 -> '2 days', 5400 -> '90 minutes'."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0 or seconds >= 2 * size:
            count = round(seconds / size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"
