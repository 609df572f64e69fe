"""The outbox worker: claim due deliveries, send them, record what happened.

The same loop runs embedded in the TUI (in a thread of its own, with its own event loop, so sends never stall a key
press) and as `staff-feed worker`. It never touches the UI: the TUI learns of every result through the change feed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from staff_feed_tui.core.types import Channel, DeliveryStatus
from staff_feed_tui.delivery.results import Outcome, RetryPolicy, SendResult, Transport
from staff_feed_tui.store import outbox
from staff_feed_tui.store.changes import KEEP_CHANGES, SqliteChangeFeed, trim_changes
from staff_feed_tui.store.db import DatabaseBusy, sqlite_path
from staff_feed_tui.store.models import utcnow

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 0.2  # how often results of a running batch are written back
IDLE_POLL_S = 0.05  # data_version check while idle: microseconds each, and it bounds enqueue-to-send latency
MAX_IDLE_S = 1.0
MAX_BATCHES_PER_TURN = 10  # then `run` looks at its stop flag and the change-log trim again
LEASE_MARGIN_S = 2.0  # a send must end this long before its lease runs out
FINAL_WRITE_TRIES = 3  # a batch's last results, with the database busy
TRIM_EVERY_S = 300.0  # how often the change log is cut back to its newest rows
TRIM_KEEP = KEEP_CHANGES


class RateLimiter:
    """At most `rate` starts per second (0 or less: no cap). Starts are spaced evenly, not burst."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        if self._next > now:
            await asyncio.sleep(self._next - now)
        self._next = max(now, self._next) + self._interval


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class WorkerState:
    """What the worker is doing, in words, for an indicator or a log line."""

    text: str = "idle"
    sent: int = 0
    failed: int = 0
    retried: int = 0
    last_error: str | None = None


class OutboxWorker:
    def __init__(
        self,
        engine: Engine,
        attachments_root: Path,
        transports: Mapping[Channel, Transport],
        *,
        policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - a frozen value, shared safely
        batch_size: int = 50,
        lease_s: float = 60.0,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.attachments_root = attachments_root
        self.transports = dict(transports)
        self.policy = policy
        self.batch_size = batch_size
        self.lease_s = lease_s
        self.owner = owner or new_owner()
        self.clock = clock  # what "due" is measured against; tests freeze it
        self.state = WorkerState()
        self._pace: dict[Channel, RateLimiter] = {}

    async def run_once(self) -> int:
        """Send what is due now, channel by channel. Returns how many deliveries were handled.

        Each channel takes up to MAX_BATCHES_PER_TURN batches in a turn; the next batch is claimed as soon as the
        last one's sends have all started, so a concurrent transport never drains to empty between batches.
        """
        handled = 0
        for channel, transport in self.transports.items():
            handled += await self._run_channel(channel, transport)
        return handled

    def send_window(self, transport: Transport) -> float:
        """How long after a claim a send may still start: it must end (at worst, by its timeout) before the lease
        runs out, else another worker could take the delivery over while it is on the wire and send it twice.
        A lease too short for the timeout (tests use 2 s) leaves half the lease; the first send of a batch always
        starts, so a worker makes progress whatever the settings."""
        window = self.lease_s - transport.timeout_s - LEASE_MARGIN_S
        return window if window > self.lease_s / 4 else self.lease_s / 2

    def claim_limit(self, transport: Transport) -> int:
        """A batch a rate-capped transport can start well within its send window (half of it)."""
        if transport.rate_per_s > 0:
            return max(1, min(self.batch_size, int(transport.rate_per_s * self.send_window(transport) / 2)))
        return self.batch_size

    def _claim(self, channel: Channel, transport: Transport) -> list[outbox.ClaimedDelivery]:
        return outbox.claim_due_deliveries(
            self.engine,
            self.attachments_root,
            owner=self.owner,
            limit=self.claim_limit(transport),
            lease_s=self.lease_s,
            channels=[channel],
            now=self.clock(),
        )

    async def _run_channel(self, channel: Channel, transport: Transport) -> int:
        batch = self._claim(channel, transport)
        if not batch:
            return 0
        loop = asyncio.get_running_loop()
        pending: list[outbox.Result] = []
        last_flush = loop.time()

        def flush() -> None:
            """Write the results so far; on DatabaseBusy they stay pending for the next try."""
            nonlocal last_flush
            last_flush = loop.time()
            group = list(pending)
            if group:
                outbox.record_results(self.engine, self.owner, group)
                del pending[: len(group)]

        def done(item: outbox.ClaimedDelivery, result: SendResult | None) -> None:
            pending.append(self._result(item, result))
            # Results are written in groups, one transaction each, so the feed still sees progress on a slow
            # server. A crash loses at most the unwritten group: those are sent again once their lease runs out.
            if loop.time() - last_flush >= FLUSH_EVERY_S:
                try:
                    flush()
                except DatabaseBusy as exc:  # another process holds the database: the sends go on, the next try
                    log.warning("worker: results kept for the next write: %s", exc)  # writes these too

        pace = self._pace.setdefault(channel, RateLimiter(transport.rate_per_s))
        limit = self.claim_limit(transport)
        gate = asyncio.Semaphore(max(1, transport.concurrency))
        in_flight: set[asyncio.Task[None]] = set()

        async def send(item: outbox.ClaimedDelivery) -> None:
            try:
                done(item, await self._send_one(transport, item))
            finally:
                gate.release()

        handled = 0
        await transport.open()
        try:
            for turn in range(1, MAX_BATCHES_PER_TURN + 1):
                self.state.text = f"sending {len(batch)}"
                send_by = loop.time() + self.send_window(transport)
                handled += len(batch)
                if transport.concurrency == 1 and hasattr(transport, "prepare"):
                    await self._pipeline(transport, batch, send_by, done)
                else:
                    for index, item in enumerate(batch):
                        await gate.acquire()
                        await pace.wait()
                        if index and loop.time() > send_by:
                            gate.release()
                            for late in batch[index:]:
                                done(late, None)
                            break
                        task = asyncio.create_task(send(item))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                if len(batch) < limit or turn == MAX_BATCHES_PER_TURN:
                    break  # that was all that is due, or the turn is over
                try:
                    batch = self._claim(channel, transport)  # while the last batch's sends are still in flight
                except DatabaseBusy as exc:
                    log.warning("worker: %s", exc)
                    break
                if not batch:
                    break
            if in_flight:
                await asyncio.gather(*in_flight)
        except BaseException:
            for task in in_flight:
                task.cancel()
            raise
        finally:
            # Results not written are sends that will be made again once their leases run out: try harder here
            # (each try waits out the busy timeout) before leaving that to the lease.
            for attempt in range(1, FINAL_WRITE_TRIES + 1):
                try:
                    flush()
                    break
                except DatabaseBusy as exc:
                    if attempt == FINAL_WRITE_TRIES:
                        raise
                    log.warning("worker: could not write results yet (try %d): %s", attempt, exc)
        return handled

    async def _pipeline(
        self,
        transport: Transport,
        items: list[outbox.ClaimedDelivery],
        send_by: float,
        done: Callable[[outbox.ClaimedDelivery, SendResult | None], None],
    ) -> None:
        """One connection, one send at a time: build the next message while the current one is on the wire."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Queue[tuple[outbox.ClaimedDelivery, object] | None] = asyncio.Queue(maxsize=2)

        async def produce() -> None:
            for item in items:
                await ready.put((item, transport.prepare(item)))  # type: ignore[attr-defined]
            await ready.put(None)

        producer = asyncio.create_task(produce())
        try:
            while (entry := await ready.get()) is not None:
                item, prepared = entry
                if item is not items[0] and loop.time() > send_by:
                    done(item, None)
                    continue
                try:
                    result = await transport.deliver(item, prepared)  # type: ignore[attr-defined]
                except Exception as exc:
                    log.exception("transport %s raised on delivery %s", item.channel.value, item.delivery_id)
                    result = SendResult.transient(f"{type(exc).__name__}: {exc}")
                done(item, result)
        finally:
            producer.cancel()

    async def close_transports(self) -> None:
        """Connections stay open across back-to-back batches and close when the worker goes idle."""
        for transport in self.transports.values():
            try:
                await transport.close()
            except Exception:
                log.exception("closing the %s transport failed", type(transport).__name__)

    async def drain(self) -> int:
        """Send batches until nothing is due now (`staff-feed worker --once`)."""
        total = 0
        try:
            while handled := await self.run_once():
                total += handled
        finally:
            await self.close_transports()
        return total

    async def run(self, stop: threading.Event) -> None:
        """Run until `stop` is set. Wakes on any commit to the database, or when a retry falls due."""
        path = sqlite_path(str(self.engine.url))
        watch = SqliteChangeFeed(path) if path else None
        next_trim = 0.0
        try:
            while not stop.is_set():
                if path is not None and time.monotonic() >= next_trim:
                    next_trim = time.monotonic() + TRIM_EVERY_S
                    self._trim(path)
                try:
                    handled = await self.run_once()
                except DatabaseBusy as exc:
                    log.warning("worker: %s", exc)
                    self.state.text = "database busy (another program holds it), trying again"
                    deadline = time.monotonic() + MAX_IDLE_S
                    while not stop.is_set() and time.monotonic() < deadline:
                        await asyncio.sleep(IDLE_POLL_S)
                    continue
                if handled:
                    continue
                await self.close_transports()
                await self._idle(stop, watch)
        finally:
            await self.close_transports()
            if watch is not None:
                watch.close()

    @staticmethod
    def _trim(path: Path) -> None:
        try:
            gone = trim_changes(path, keep=TRIM_KEEP, timeout_s=0.2)  # housekeeping: never worth a wait
        except sqlite3.Error as exc:  # busy or locked: the next turn tries again
            log.warning("worker: could not trim the change log: %s", exc)
            return
        if gone:
            log.info("worker: trimmed %d old rows of the change log", gone)

    async def _idle(self, stop: threading.Event, watch: SqliteChangeFeed | None) -> None:
        due = outbox.next_due_at(self.engine, channels=list(self.transports))
        now = self.clock()
        wait = MAX_IDLE_S if due is None else max(0.0, min(MAX_IDLE_S, (due - now).total_seconds()))
        if due is not None and due > now and self.state.last_error:
            self.state.text = f"retrying, next in {int((due - now).total_seconds()) + 1} s: {self.state.last_error}"
        else:
            self.state.text = "idle"
            self.state.last_error = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not stop.is_set() and loop.time() < deadline:
            await asyncio.sleep(min(IDLE_POLL_S, max(0.0, deadline - loop.time())))
            if watch is not None and watch.poll():
                return

    async def _send_one(self, transport: Transport, item: outbox.ClaimedDelivery) -> SendResult:
        try:
            return await transport.send(item)
        except Exception as exc:
            log.exception("transport %s raised on delivery %s", item.channel.value, item.delivery_id)
            return SendResult.transient(f"{type(exc).__name__}: {exc}")

    def _result(
        self, item: outbox.ClaimedDelivery, result: SendResult | None, now: datetime | None = None
    ) -> outbox.Result:
        """Turn a transport's answer into what the outbox records, applying the retry policy.

        No answer (None) means the send never started, as its lease was running out: the delivery goes back to
        the queue, due now, and the attempt is not counted.
        """
        if result is None:
            return outbox.Result(item.delivery_id, DeliveryStatus.QUEUED, released=True)
        now = now or self.clock()
        if result.outcome is Outcome.SENT:
            self.state.sent += 1
            return outbox.Result(item.delivery_id, DeliveryStatus.SENT, provider_id=result.provider_id)
        error = result.error or "unknown error"
        if result.outcome is Outcome.TRANSIENT:
            retry_at = self.policy.next_attempt(item.attempt, now)
            if retry_at is not None:
                self.state.retried += 1
                self.state.last_error = error
                return outbox.Result(item.delivery_id, DeliveryStatus.QUEUED, error=error, next_attempt_at=retry_at)
            error = f"gave up after {item.attempt} attempts: {error}"
        self.state.failed += 1
        return outbox.Result(
            item.delivery_id,
            DeliveryStatus.FAILED,
            error=error,
            opted_out_staff_id=item.staff_id if result.opted_out else None,
        )

    def _record(self, item: outbox.ClaimedDelivery, result: SendResult) -> None:
        outbox.record_results(self.engine, self.owner, [self._result(item, result)])
