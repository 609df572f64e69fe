"""Delivery use cases for the apps and the CLI: the channels' state in words for the top bar, whether an app should
run its embedded worker, and a dispatcher's bulk retry of failed deliveries.

The worker itself lives in `delivery`; what it shares with every process (pauses, heartbeats) is in the store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.core.types import Channel, ChannelHealth
from staff_feed_tui.services.context import Services
from staff_feed_tui.store import delivery_state
from staff_feed_tui.store.models import utcnow

NAMES = {Channel.EMAIL: "email", Channel.SMS: "sms"}


def channel_words(
    health: ChannelHealth, now: datetime, *, full: bool = False, local: Callable[[datetime], datetime] | None = None
) -> str:
    """`email: SMTP unreachable (smtp.example.com:587) since 10:02, 37 waiting` for a paused channel (the date too
    when not today). The reason's first clause only, so the top bar keeps "since" and "waiting" in view; `full`
    gives the whole of it (for doctor)."""
    assert health.paused_since is not None
    to_local = local or (lambda moment: moment.astimezone())
    since, today = to_local(health.paused_since), to_local(now)
    when = since.strftime("%H:%M") if since.date() == today.date() else since.strftime("%Y-%m-%d %H:%M")
    reason = safe_line(health.reason or "not answering")
    if not full:
        reason = reason.split(": ", 1)[0]
    return f"{NAMES[health.channel]}: {reason} since {when}, {health.waiting} waiting"


def delivery_status(services: Services, now: datetime | None = None, *, full: bool = False) -> str | None:
    """What the top bar says of delivery: each paused channel in words, or None while every channel runs."""
    channels = [Channel.EMAIL]
    if services.settings.company.text_messaging:
        channels.append(Channel.SMS)
    paused = [h for h in delivery_state.channel_health(services.engine, channels) if h.paused]
    if not paused:
        return None
    now = now or utcnow()
    return " · ".join(channel_words(h, now, full=full) for h in paused)


def worker_running_elsewhere(services: Services, owner: str | None = None) -> bool:
    """Whether another worker (a service, or another app's) has beaten lately."""
    return any(o != owner for o, _ in delivery_state.live_workers(services.engine, delivery_state.FRESH_S))


def live_workers_words(services: Services) -> str:
    """`1 service worker alive`, `no worker alive` ... for doctor."""
    kinds = [kind for _, kind in delivery_state.live_workers(services.engine, delivery_state.FRESH_S)]
    if not kinds:
        return "no worker alive: an app starts its own" if services.settings.delivery.embedded_worker else (
            "no worker alive, and delivery.embedded_worker is off: start `staff-feed worker`")
    counts = {kind: kinds.count(kind) for kind in sorted(set(kinds))}
    return ", ".join(f"{n} {kind} worker{'s' if n != 1 else ''}" for kind, n in counts.items()) + " alive"


def claim_embedded_worker(services: Services, owner: str) -> bool:
    """Whether this app should run its embedded worker now: only when the settings allow it and no other worker is
    alive. The check and the first heartbeat are one transaction, so of several apps starting at once, one wins."""
    if not services.settings.delivery.embedded_worker:
        return False
    if worker_running_elsewhere(services, owner):
        return False  # a read first: most looks end here without a write
    return delivery_state.claim_embedded_slot(services.engine, owner, delivery_state.FRESH_S)


def retry_failed(
    services: Services,
    *,
    channel: Channel | None = None,
    since: datetime | None = None,
    staff_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Put every matching failed delivery back in the queue, due now, with a fresh count of attempts, recorded
    with the dispatcher who asked. Returns how many."""
    from staff_feed_tui.store.outbox import retry_failed_deliveries

    return retry_failed_deliveries(services.engine, services.dispatcher, channel=channel, since=since,
                                   staff_id=staff_id, now=now)
