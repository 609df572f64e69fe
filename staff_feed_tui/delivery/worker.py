"""The outbox worker: claim due deliveries, send them, record what happened.

The same loop runs embedded in the TUI (in a thread of its own, with its own event loop, so sends never stall a key
press) and as `staff-feed worker`. It never touches the UI: the TUI learns of every result through the change feed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from staff_feed_tui.core.types import Channel
from staff_feed_tui.delivery.results import Outcome, RetryPolicy, SendResult, Transport
from staff_feed_tui.store import outbox
from staff_feed_tui.store.changes import SqliteChangeFeed
from staff_feed_tui.store.db import DatabaseBusy, sqlite_path
from staff_feed_tui.store.models import utcnow

log = logging.getLogger(__name__)

IDLE_POLL_S = 0.05  # data_version check while idle: microseconds each, and it bounds enqueue-to-send latency
MAX_IDLE_S = 1.0


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class WorkerState:
    """What the worker is doing, in words, for an indicator or a log line."""

    text: str = "idle"
    sent: int = 0
    failed: int = 0
    retried: int = 0


class OutboxWorker:
    def __init__(
        self,
        engine: Engine,
        attachments_root: Path,
        transports: Mapping[Channel, Transport],
        *,
        policy: RetryPolicy = RetryPolicy(),
        batch_size: int = 50,
        lease_s: float = 60.0,
        owner: str | None = None,
    ) -> None:
        self.engine = engine
        self.attachments_root = attachments_root
        self.transports = dict(transports)
        self.policy = policy
        self.batch_size = batch_size
        self.lease_s = lease_s
        self.owner = owner or new_owner()
        self.state = WorkerState()

    async def run_once(self) -> int:
        """Send one batch of what is due now. Returns how many deliveries were handled."""
        claimed = outbox.claim_due_deliveries(
            self.engine,
            self.attachments_root,
            owner=self.owner,
            limit=self.batch_size,
            lease_s=self.lease_s,
            channels=list(self.transports),
        )
        if not claimed:
            return 0
        self.state.text = f"sending {len(claimed)}"
        by_channel: dict[Channel, list[outbox.ClaimedDelivery]] = {}
        for item in claimed:
            by_channel.setdefault(item.channel, []).append(item)
        for channel, items in by_channel.items():
            transport = self.transports[channel]
            await transport.open()
            try:
                for item in items:
                    result = await self._send_one(transport, item)
                    self._record(item, result)
            finally:
                await transport.close()
        return len(claimed)

    async def drain(self) -> int:
        """Send batches until nothing is due now (`staff-feed worker --once`)."""
        total = 0
        while handled := await self.run_once():
            total += handled
        return total

    async def run(self, stop: threading.Event) -> None:
        """Run until `stop` is set. Wakes on any commit to the database, or when a retry falls due."""
        path = sqlite_path(str(self.engine.url))
        watch = SqliteChangeFeed(path) if path else None
        try:
            while not stop.is_set():
                try:
                    handled = await self.run_once()
                except DatabaseBusy as exc:
                    log.warning("worker: %s", exc)
                    handled = 0
                if handled:
                    continue
                await self._idle(stop, watch)
        finally:
            if watch is not None:
                watch.close()

    async def _idle(self, stop: threading.Event, watch: SqliteChangeFeed | None) -> None:
        due = outbox.next_due_at(self.engine, channels=list(self.transports))
        now = utcnow()
        wait = MAX_IDLE_S if due is None else max(0.0, min(MAX_IDLE_S, (due - now).total_seconds()))
        if due is not None and due > now and self.state.retried:
            self.state.text = f"retrying, next in {int((due - now).total_seconds()) + 1} s"
        elif due is None:
            self.state.text = "idle"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not stop.is_set() and loop.time() < deadline:
            await asyncio.sleep(min(IDLE_POLL_S, max(0.0, deadline - loop.time())))
            if watch is not None and watch.poll():
                return

    async def _send_one(self, transport: Transport, item: outbox.ClaimedDelivery) -> SendResult:
        try:
            return await transport.send(item)
        except Exception as exc:  # noqa: BLE001 - a transport bug must not lose the delivery
            log.exception("transport %s raised on delivery %s", item.channel.value, item.delivery_id)
            return SendResult.transient(f"{type(exc).__name__}: {exc}")

    def _record(self, item: outbox.ClaimedDelivery, result: SendResult, now: datetime | None = None) -> None:
        now = now or utcnow()
        if result.outcome is Outcome.SENT:
            outbox.record_sent(self.engine, item.delivery_id, self.owner, result.provider_id)
            self.state.sent += 1
            return
        error = result.error or "unknown error"
        if result.outcome is Outcome.TRANSIENT:
            retry_at = self.policy.next_attempt(item.attempt, now)
            if retry_at is not None:
                outbox.record_retry(self.engine, item.delivery_id, self.owner, error, retry_at)
                self.state.retried += 1
                self.state.text = f"retrying: {error}"
                return
            error = f"gave up after {item.attempt} attempts: {error}"
        outbox.record_failed(self.engine, item.delivery_id, self.owner, error)
        self.state.failed += 1
