"""Delivery state every process shares through the database: each channel's pause, and the workers' heartbeats.

A worker that finds a channel in trouble writes it here, so every app's top bar shows it whichever worker saw it,
and `worker --once` in a fresh process knows not to knock on a server that was down a minute ago. Heartbeats let
an app start its embedded worker only when no other worker is alive.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine

from staff_feed_tui.core.types import Channel, ChannelHealth
from staff_feed_tui.store.db import write_connection
from staff_feed_tui.store.dialects import serialize
from staff_feed_tui.store.models import utcnow
from staff_feed_tui.store.outbox import read_time, sql_time

SERVICE = "service"  # `staff-feed worker`
EMBEDDED = "embedded"  # the one inside an app
HEARTBEAT_S = 5.0  # how often a running worker says so
FRESH_S = 3 * HEARTBEAT_S  # a heartbeat older than this is a worker that is gone


def _moment(value: str | datetime | None) -> datetime | None:
    return None if value is None else read_time(value)


def channel_health(engine: Engine, channels: Sequence[Channel] = (Channel.EMAIL, Channel.SMS)) -> list[ChannelHealth]:
    """Each channel's pause (if any) and how many of its deliveries are queued."""
    with engine.connect() as conn:
        paused = {
            row[0]: row[1:]
            for row in conn.exec_driver_sql(
                "SELECT channel, paused_since, reason, retry_at FROM channel_state WHERE paused_since IS NOT NULL"
            )
        }
        waiting = dict(
            conn.exec_driver_sql(  # type: ignore[arg-type]
                "SELECT channel, count(*) FROM delivery WHERE status IN ('queued', 'sending') GROUP BY channel"
            ).all()
        )
    health = []
    for channel in channels:
        since, reason, retry_at = paused.get(channel.value, (None, None, None))
        health.append(ChannelHealth(channel, waiting.get(channel.value, 0), _moment(since), reason, _moment(retry_at)))
    return health


def paused_until(engine: Engine) -> dict[Channel, tuple[int, datetime | None]]:
    """The paused channels: how many failures in a row, and when each may be tried again."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT channel, failures, retry_at FROM channel_state WHERE paused_since IS NOT NULL"
        ).all()
    return {Channel(c): (failures, _moment(retry_at)) for c, failures, retry_at in rows if c in Channel._value2member_map_}


def pause_channel(
    engine: Engine, channel: Channel, reason: str, *, failures: int, retry_at: datetime, now: datetime | None = None
) -> None:
    """Record the channel as paused (keeping the moment it first went down) until `retry_at`."""
    stamp = sql_time(now or utcnow())
    with write_connection(engine) as conn:
        conn.exec_driver_sql(
            """INSERT INTO channel_state (channel, paused_since, reason, failures, retry_at, updated_at)
               VALUES (:channel, :now, :reason, :failures, :retry_at, :now)
               ON CONFLICT (channel) DO UPDATE SET
                   paused_since = coalesce(channel_state.paused_since, excluded.paused_since),
                   reason = excluded.reason, failures = excluded.failures, retry_at = excluded.retry_at,
                   updated_at = excluded.updated_at""",
            {"channel": channel.value, "now": stamp, "reason": reason, "failures": failures,
             "retry_at": sql_time(retry_at)},
        )


def resume_channel(engine: Engine, channel: Channel, now: datetime | None = None) -> bool:
    """The channel works again. Returns whether it had been paused (a write happens only then)."""
    with write_connection(engine) as conn:
        return bool(
            conn.exec_driver_sql(
                """UPDATE channel_state SET paused_since = NULL, reason = NULL, failures = 0, retry_at = NULL,
                          updated_at = :now
                    WHERE channel = :channel AND paused_since IS NOT NULL""",
                {"channel": channel.value, "now": sql_time(now or utcnow())},
            ).rowcount
        )


def beat(engine: Engine, owner: str, kind: str, now: datetime | None = None) -> None:
    stamp = sql_time(now or utcnow())
    with write_connection(engine) as conn:
        conn.exec_driver_sql(
            """INSERT INTO worker_heartbeat (owner, kind, started_at, beat_at) VALUES (:owner, :kind, :now, :now)
               ON CONFLICT (owner) DO UPDATE SET beat_at = excluded.beat_at, kind = excluded.kind""",
            {"owner": owner, "kind": kind, "now": stamp},
        )


def forget_worker(engine: Engine, owner: str) -> None:
    """A worker that stops says so at once, so an app need not wait for its heartbeat to grow stale."""
    with write_connection(engine) as conn:
        conn.exec_driver_sql("DELETE FROM worker_heartbeat WHERE owner = :owner", {"owner": owner})


def live_workers(engine: Engine, fresh_s: float, now: datetime | None = None) -> list[tuple[str, str]]:
    """(owner, kind) of each worker that has beaten within `fresh_s` seconds."""
    since = sql_time((now or utcnow()) - timedelta(seconds=fresh_s))
    with engine.connect() as conn:
        return [
            (owner, kind)
            for owner, kind in conn.exec_driver_sql(
                "SELECT owner, kind FROM worker_heartbeat WHERE beat_at >= :since ORDER BY owner", {"since": since}
            )
        ]


def claim_embedded_slot(engine: Engine, owner: str, fresh_s: float, now: datetime | None = None) -> bool:
    """Become the database's embedded worker if no other worker is alive: the check and the first heartbeat are
    one write transaction, so two apps starting together cannot both win. Stale rows are cleared on the way."""
    now = now or utcnow()
    since = sql_time(now - timedelta(seconds=fresh_s))
    with write_connection(engine) as conn:
        serialize(conn, "embedded worker")  # PostgreSQL: one at a time, as BEGIN IMMEDIATE does on SQLite
        conn.exec_driver_sql("DELETE FROM worker_heartbeat WHERE beat_at < :since", {"since": since})
        other = conn.exec_driver_sql(
            "SELECT 1 FROM worker_heartbeat WHERE owner != :owner LIMIT 1", {"owner": owner}
        ).first()
        if other is not None:
            return False
        stamp = sql_time(now)
        conn.exec_driver_sql(
            """INSERT INTO worker_heartbeat (owner, kind, started_at, beat_at) VALUES (:owner, :kind, :now, :now)
               ON CONFLICT (owner) DO UPDATE SET beat_at = excluded.beat_at""",
            {"owner": owner, "kind": EMBEDDED, "now": stamp},
        )
        return True
