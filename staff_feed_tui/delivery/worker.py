"""The outbox worker: claim due deliveries, send them, record what happened.

The same loop runs embedded in the TUI (in a thread of its own, with its own event loop, so sends never stall a key
press) and as `staff-feed worker`. It never touches the UI: every app learns of results through the change feed,
and of a paused channel through the `channel_state` table.

- Each channel runs as a task of its own, so a stuck or paused email channel never holds texts back.
- One message's failure (an address, a name, a file, a refusal) is that message's outcome, never the worker's end.
- The channel's own trouble (see `Outcome.CHANNEL_DOWN`) pauses the channel: its deliveries wait, using no attempts,
  and a worker tries again after a backoff capped at 5 minutes. Giving up is by time (`delivery.give_up_after_s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from staff_feed_tui.core.types import Channel, DeliveryStatus
from staff_feed_tui.delivery.results import Outcome, RetryPolicy, SendResult, Transport, pause_for
from staff_feed_tui.delivery.running import RunningLoop
from staff_feed_tui.store import delivery_state, outbox
from staff_feed_tui.store.db import DatabaseBusy
from staff_feed_tui.store.models import utcnow

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 0.2  # how often results of a running batch are written back
MAX_BATCHES_PER_TURN = 10  # then the channel looks at the stop flag and its pause again
LEASE_MARGIN_S = 2.0  # a send must end this long before its lease runs out
FINAL_WRITE_TRIES = 3  # a batch's last results, with the database busy


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


@dataclass(frozen=True, slots=True)
class Pause:
    failures: int
    retry_at: datetime


class OutboxWorker(RunningLoop):
    """Claims, sends and records, channel by channel. `run_once`/`drain` make one pass (`worker --once`); `run`
    (from RunningLoop) keeps going until stopped."""

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
        kind: str = delivery_state.SERVICE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.attachments_root = attachments_root
        self.transports = dict(transports)
        self.policy = policy
        self.batch_size = batch_size
        self.lease_s = lease_s
        self.owner = owner or new_owner()
        self.kind = kind
        self.clock = clock  # what "due" is measured against; tests freeze it
        self.state = WorkerState()
        self.handed_over = False  # an embedded worker that stopped because a service worker appeared
        self._pace: dict[Channel, RateLimiter] = {}
        self._pauses: dict[Channel, Pause] = {}
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: dict[Channel, asyncio.Event] = {}
        # A worker that starts tries each paused channel once at once: its settings may be the fix (a new token).
        self._probe_now: set[Channel] = set()

    # ---- stopping ---------------------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop soon (any thread, or a signal handler): no new sends start, claims not yet on the wire go back to
        the queue, and sends on the wire get STOP_GRACE_S to finish."""
        self._stop.set()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wake_all)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _wake_all(self) -> None:
        for event in self._wake.values():
            event.set()

    # ---- one pass ---------------------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Send what is due now, every channel at once; returns how many deliveries were handled. A paused channel
        is skipped, never waited for (`worker --once`)."""
        self._load_pauses()
        counts = await asyncio.gather(
            *(self._channel_turn(channel, transport) for channel, transport in self.transports.items()),
            return_exceptions=True,
        )
        for count in counts:
            if isinstance(count, BaseException):
                raise count
        return sum(counts)  # type: ignore[arg-type]

    async def drain(self) -> int:
        """Send batches until nothing is due now (`staff-feed worker --once`)."""
        self._give_up()
        total = 0
        try:
            while not self.stopping and (handled := await self.run_once()):
                total += handled
        finally:
            await self.close_transports()
        return total

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

    def _claim(self, channel: Channel, limit: int) -> list[outbox.ClaimedDelivery]:
        return outbox.claim_due_deliveries(
            self.engine, self.attachments_root, owner=self.owner, limit=limit, lease_s=self.lease_s,
            channels=[channel], now=self.clock(),
        )

    async def _channel_turn(self, channel: Channel, transport: Transport) -> int:
        pause = self._pauses.get(channel)
        if pause is not None and pause.retry_at > self.clock() and channel not in self._probe_now:
            return 0
        self._probe_now.discard(channel)
        # A paused channel is tried with one delivery: if the server is still down, the rest were never claimed.
        limit = 1 if pause is not None else self.claim_limit(transport)
        batch = self._claim(channel, limit)
        if not batch:
            return 0
        loop = asyncio.get_running_loop()
        pending: list[outbox.Result] = []
        last_flush = loop.time()
        trouble: list[str] = []  # the channel's trouble, as the first send that met it said
        answered = False  # the server answered a send (sent, or a message's own refusal): the channel works

        def flush() -> None:
            """Write the results so far; on DatabaseBusy they stay pending for the next try."""
            nonlocal last_flush
            last_flush = loop.time()
            group = list(pending)
            if group:
                outbox.record_results(self.engine, self.owner, group)
                del pending[: len(group)]

        def done(item: outbox.ClaimedDelivery, result: SendResult | None) -> None:
            nonlocal answered
            if result is not None and result.outcome is Outcome.CHANNEL_DOWN:
                trouble.append(result.error or "unknown trouble")
            elif result is not None:
                answered = True
            pending.append(self._result(item, result))
            # Results are written in groups, one transaction each, so the feed still sees progress on a slow
            # server. A crash loses at most the unwritten group: those are sent again once their lease runs out.
            if loop.time() - last_flush >= FLUSH_EVERY_S:
                try:
                    flush()
                except DatabaseBusy as exc:  # another process holds the database: the sends go on, the next try
                    log.warning("worker: results kept for the next write: %s", exc)  # writes these too

        def halted() -> bool:
            return bool(trouble) or self.stopping

        pace = self._pace.setdefault(channel, RateLimiter(transport.rate_per_s))
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
                    await self._pipeline(transport, batch, send_by, done, halted)
                else:
                    for index, item in enumerate(batch):
                        await gate.acquire()
                        await pace.wait()
                        if halted() or (index and loop.time() > send_by):
                            gate.release()
                            for late in batch[index:]:
                                done(late, None)
                            break
                        task = asyncio.create_task(send(item))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                if len(batch) < limit or turn == MAX_BATCHES_PER_TURN or halted():
                    break  # that was all that is due, the turn is over, or the channel is in trouble
                try:
                    batch = self._claim(channel, limit)  # while the last batch's sends are still in flight
                except DatabaseBusy as exc:
                    log.warning("worker: %s", exc)
                    break
                if not batch:
                    break
            if in_flight:
                await asyncio.gather(*in_flight)
        except BaseException:
            for task in in_flight:
                task.cancel()  # left leased: whether it went out is unknown, so it is retried after the lease
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
        if trouble:
            self._pause(channel, trouble[0])
        elif answered and channel in self._pauses:
            self._resume(channel)
        return handled

    async def _pipeline(
        self,
        transport: Transport,
        items: list[outbox.ClaimedDelivery],
        send_by: float,
        done: Callable[[outbox.ClaimedDelivery, SendResult | None], None],
        halted: Callable[[], bool],
    ) -> None:
        """One connection, one send at a time: build the next message while the current one is on the wire."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Queue[tuple[outbox.ClaimedDelivery, object] | None] = asyncio.Queue(maxsize=2)

        async def produce() -> None:
            try:
                for item in items:
                    try:
                        prepared: object = transport.prepare(item)  # type: ignore[attr-defined]
                    except Exception as exc:
                        log.exception("preparing delivery %s failed", item.delivery_id)
                        prepared = SendResult.permanent(f"the message could not be built: {exc}")
                    await ready.put((item, prepared))
            finally:
                await ready.put(None)

        producer = asyncio.create_task(produce())
        try:
            while (entry := await ready.get()) is not None:
                item, prepared = entry
                if halted() or (item is not items[0] and loop.time() > send_by):
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

        No answer (None) means the send never started (its lease was running out, the channel met trouble, or the
        worker is stopping): the delivery goes back to the queue, due now, and the attempt is not counted. Nor is
        it when the channel was down: the message waits for the channel, with the reason shown.
        """
        if result is None:
            return outbox.Result(item.delivery_id, DeliveryStatus.QUEUED, released=True)
        now = now or self.clock()
        if result.outcome is Outcome.SENT:
            self.state.sent += 1
            return outbox.Result(item.delivery_id, DeliveryStatus.SENT, provider_id=result.provider_id)
        error = result.error or "unknown error"
        if result.outcome is Outcome.CHANNEL_DOWN:
            return outbox.Result(item.delivery_id, DeliveryStatus.QUEUED, error=error, released=True)
        if result.outcome is Outcome.TRANSIENT:
            retry_at = self.policy.next_attempt(item.attempt, now)
            horizon = item.created_at + timedelta(seconds=self.policy.give_up_after_s)
            if retry_at is not None and retry_at < horizon:
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

    # ---- pausing ----------------------------------------------------------------------------------------------

    def _load_pauses(self) -> None:
        """The pauses in the database are the truth: another worker may have paused or resumed a channel."""
        self._pauses = {
            channel: Pause(failures, retry_at or self.clock())
            for channel, (failures, retry_at) in delivery_state.paused_until(self.engine).items()
            if channel in self.transports
        }

    def _pause(self, channel: Channel, reason: str) -> None:
        previous = self._pauses.get(channel)
        failures = (previous.failures if previous else 0) + 1
        now = self.clock()
        pause = Pause(failures, now + timedelta(seconds=pause_for(failures, self.policy.backoff_s, self.policy.max_backoff_s)))
        self._pauses[channel] = pause
        self.state.last_error = reason
        self.state.text = f"{channel.value} paused: {reason}"
        log.warning("worker: %s paused (failure %d in a row), next try at %s: %s", channel.value, failures,
                    pause.retry_at.isoformat(timespec="seconds"), reason)
        try:
            delivery_state.pause_channel(self.engine, channel, reason, failures=failures, retry_at=pause.retry_at,
                                         now=now)
        except DatabaseBusy as exc:
            log.warning("worker: could not record the pause yet: %s", exc)

    def _resume(self, channel: Channel) -> None:
        self._pauses.pop(channel, None)
        log.info("worker: %s works again", channel.value)
        try:
            delivery_state.resume_channel(self.engine, channel)
        except DatabaseBusy as exc:
            log.warning("worker: could not record that %s works again: %s", channel.value, exc)

    def _give_up(self) -> None:
        try:
            gone = outbox.give_up_overdue(self.engine, self.policy.give_up_after_s, now=self.clock())
        except DatabaseBusy as exc:
            log.warning("worker: %s", exc)
            return
        if gone:
            self.state.failed += gone
            log.warning("worker: gave up %d deliveries not sent within %g s", gone, self.policy.give_up_after_s)

    # ---- running ----------------------------------------------------------------------------------------------

    async def close_transports(self) -> None:
        """Connections stay open across back-to-back batches and close when the worker goes idle."""
        for transport in self.transports.values():
            await self._close(transport)

    @staticmethod
    async def _close(transport: Transport) -> None:
        try:
            await transport.close()
        except Exception:
            log.exception("closing the %s transport failed", type(transport).__name__)
