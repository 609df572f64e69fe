"""The long-running side of the outbox worker (`staff-feed worker`, and the one an app embeds): each channel's own
loop, the wake-ups, the heartbeat and the housekeeping. Mixed into `OutboxWorker`; `worker --once` never uses it.

Each channel waits on its own: for a change to the database (inotify on the WAL wakes it at once where there is
one), for its next delivery to fall due, or for its pause to end. While nothing happens the looks back off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError

from staff_feed_tui.core.types import Channel
from staff_feed_tui.store import delivery_state, outbox
from staff_feed_tui.store.changes import KEEP_CHANGES, ChangeSource, WalWatch, open_change_feed, trim_changes
from staff_feed_tui.store.db import DatabaseBusy, sqlite_path

if TYPE_CHECKING:
    from staff_feed_tui.delivery.results import Transport

log = logging.getLogger(__name__)

POLL_FIRST_S = 0.05  # the change check right after something happened ...
RELOOK_S, RELOOKS = 0.05, 4  # a WAL write whose commit is not visible yet is looked at again, this often
POLL_MAX_S = 1.0  # ... doubling up to this while nothing happens, so an idle worker costs next to nothing
POLL_MAX_WATCHED_S = 5.0  # ... or to this when inotify wakes the worker on every commit (then it is a safety net)
MAX_REST_S = 60.0  # a channel with nothing due looks again at least this often (a change wakes it at once)
BUSY_WAIT_S = 1.0  # the database held by another program: try again after this
TRIM_EVERY_S = 300.0  # how often the change log is cut back to its newest rows
TRIM_KEEP = KEEP_CHANGES
GIVE_UP_EVERY_S = 60.0  # how often deliveries past `give_up_after_s` are failed
HEARTBEAT_S = delivery_state.HEARTBEAT_S
FRESH_S = delivery_state.FRESH_S
STOP_GRACE_S = 4.0  # on SIGTERM, sends on the wire get this long to finish: the worker is gone within 5 s


class RunningLoop:
    async def run(self, stop: threading.Event | None = None) -> None:
        """Run until `stop` is set or `request_stop` is called. Each channel waits on its own: for a change to the
        database, for its next delivery to fall due, or for its pause to end."""
        self._loop = asyncio.get_running_loop()
        self._wake = {channel: asyncio.Event() for channel in self.transports}
        self._probe_now = set(self.transports)
        path = sqlite_path(self.engine.url.render_as_string(hide_password=False))
        watch = self._open_watch()
        channels = [asyncio.create_task(self._channel_loop(c, t), name=f"outbox-{c.value}")
                    for c, t in self.transports.items()]
        watcher = asyncio.create_task(self._watch(watch, path, stop))
        try:
            await asyncio.wait([*channels, watcher], return_when=asyncio.FIRST_COMPLETED)
            self.request_stop()
            _, late = await asyncio.wait(channels, timeout=STOP_GRACE_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*channels, return_exceptions=True)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            await self.close_transports()
            if watch is not None:
                watch.close()
            with contextlib.suppress(DatabaseBusy, sqlite3.Error, DBAPIError):
                delivery_state.forget_worker(self.engine, self.owner)
            self._loop = None

    async def _channel_loop(self, channel: Channel, transport: Transport) -> None:
        wake = self._wake[channel]
        while not self.stopping:
            wake.clear()
            try:
                self._load_pauses()
                handled = await self._channel_turn(channel, transport)
            except DatabaseBusy as exc:
                log.warning("worker: %s", exc)
                self.state.text = "database busy (another program holds it), trying again"
                await self._rest(wake, BUSY_WAIT_S)
                continue
            except Exception:
                log.exception("worker: the %s channel met an error", channel.value)
                await self._rest(wake, BUSY_WAIT_S)
                continue
            if handled:
                continue
            await self._close(transport)
            await self._rest(wake, self._idle_for(channel))

    def _idle_for(self, channel: Channel) -> float:
        """Until the channel's pause ends or its next delivery falls due; a change to the database wakes it sooner."""
        now = self.clock()
        pause = self._pauses.get(channel)
        if pause is not None:
            self.state.text = f"{channel.value} paused, next try in {max(0, int((pause.retry_at - now).total_seconds())) + 1} s"
            return min(MAX_REST_S, max(0.0, (pause.retry_at - now).total_seconds()))
        due = outbox.next_due_at(self.engine, channels=[channel])
        if due is None:
            if not self._pauses:
                self.state.text = "idle"
            return MAX_REST_S
        return min(MAX_REST_S, max(0.0, (due - now).total_seconds()))

    @staticmethod
    async def _rest(wake: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), seconds)

    def _open_watch(self) -> ChangeSource | None:
        try:
            return open_change_feed(self.engine)
        except Exception as exc:  # noqa: BLE001 - a server away at start: the channels wake on their timers instead
            log.warning("worker: no change feed (%s); the channels wake on their timers", exc)
            return None

    async def _watch(self, watch: ChangeSource | None, path: Path | None, stop: threading.Event | None) -> None:
        """Wake the channels on any change to the database, and keep house: the heartbeat, the change-log trim, and
        giving up deliveries past their horizon. A commit by any process wakes the channels at once where inotify
        is there (Linux); the periodic look backs off while nothing happens."""
        loop = asyncio.get_running_loop()
        wal = WalWatch.open(path) if path is not None and watch is not None else None
        if wal is not None:

            def look(again: int) -> None:
                if watch is not None and watch.poll():
                    self._wake_all()
                elif again:
                    # A commit's last write to the WAL comes before readers can see it (the wal-index is updated
                    # after, through a mapping that inotify does not report), so a write seen too early is looked
                    # at again shortly rather than missed until the next periodic look.
                    loop.call_later(RELOOK_S, look, again - 1)

            def committed() -> None:
                wal.drain()
                look(RELOOKS)

            loop.add_reader(wal.fileno(), committed)
        # A caller's `stop` event is only seen here, so with one the look stays at least once a second.
        ceiling = POLL_MAX_WATCHED_S if wal is not None and stop is None else POLL_MAX_S
        interval = POLL_FIRST_S
        next_beat = next_trim = next_give_up = 0.0
        try:
            while not self.stopping:
                if stop is not None and stop.is_set():
                    return
                now = time.monotonic()
                if now >= next_beat:
                    next_beat = now + HEARTBEAT_S
                    if self._beat():
                        return
                if now >= next_trim:
                    next_trim = now + TRIM_EVERY_S
                    self._trim(path)
                if now >= next_give_up:
                    next_give_up = now + GIVE_UP_EVERY_S
                    self._give_up()
                if watch is not None and watch.poll():
                    self._wake_all()
                    interval = POLL_FIRST_S
                else:
                    interval = min(ceiling, interval * 2)
                pause = min(interval, max(0.0, next_beat - time.monotonic()))
                if watch is not None and watch.wakes:  # PostgreSQL: a NOTIFY ends the wait at once
                    await asyncio.to_thread(watch.wait, pause)
                else:
                    await asyncio.sleep(pause)
        finally:
            if wal is not None:
                loop.remove_reader(wal.fileno())
                wal.close()

    def _beat(self) -> bool:
        """Say this worker is alive. An embedded worker hands over (returns True) once a service worker runs."""
        try:
            delivery_state.beat(self.engine, self.owner, self.kind)
            if self.kind == delivery_state.EMBEDDED:
                others = delivery_state.live_workers(self.engine, FRESH_S)
                if any(kind == delivery_state.SERVICE for owner, kind in others if owner != self.owner):
                    log.info("worker: a service worker runs; the embedded worker hands over to it")
                    self.handed_over = True
                    return True
        except DatabaseBusy as exc:
            log.warning("worker: heartbeat not written: %s", exc)
        return False

    def _trim(self, path: Path | None) -> None:
        try:
            # Housekeeping, never worth a wait: SQLite's is opened with a short busy timeout.
            gone = trim_changes(path or self.engine, keep=TRIM_KEEP, timeout_s=0.2)
        except (sqlite3.Error, DBAPIError) as exc:  # busy, locked or disconnected: the next turn tries again
            log.warning("worker: could not trim the change log: %s", exc)
            return
        if gone:
            log.info("worker: trimmed %d old rows of the change log", gone)
