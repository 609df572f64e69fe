"""The change feed on PostgreSQL: LISTEN for the trigger's NOTIFY, then read `change` past the last seq seen.

Sequence numbers are taken when a row is written but seen when its transaction commits, so a later seq can be seen
before an earlier one. A missing seq is therefore kept as a hole and looked for again until `HOLE_WAIT_S` has passed
(then it was a rolled-back write). A dropped connection is said in `connection_note`, reconnected on the next poll
at most once a second, and followed by a catch-up read of everything past the last seq, which the table still holds.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from staff_feed_tui.store.changes import RELOAD_ALL, ChangedFeed, group_changes
from staff_feed_tui.store.migrations.triggers import CHANGE_CHANNEL

if TYPE_CHECKING:
    from sqlalchemy import Engine

HOLE_WAIT_S = 10.0  # how long a missing seq may still commit (longer than any write transaction here)
CATCH_UP_S = 5.0  # read the table now and then even without a NOTIFY: a lost one costs at most this
RECONNECT_EVERY_S = 1.0
RECONNECTED_NOTE_S = 10.0  # how long "reconnected" stays in the top bar
log = logging.getLogger(__name__)


class PostgresChangeFeed:
    wakes = True

    def __init__(self, engine: Engine) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._lock = threading.Lock()
        self._closed = False
        self._conn: Any = None
        self._holes: dict[int, float] = {}  # seq -> when it was first missed
        self._next_catch_up = 0.0
        self._next_connect = 0.0
        self._reconnected_until = 0.0
        self._lost = False
        self._notified = False
        self.reconnects = 0
        self._connect()
        self._last_seq: int = self._conn.execute("SELECT coalesce(max(seq), 0) FROM change").fetchone()[0]

    @property
    def connection_note(self) -> str:
        if self._lost:
            return "database connection lost, reconnecting"
        if time.monotonic() < self._reconnected_until:
            return "database reconnected"
        return ""

    def _connect(self) -> None:
        import psycopg

        self._conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
        self._conn.execute(f"LISTEN {CHANGE_CHANNEL}")

    def changed(self) -> bool:
        """Whether a poll has anything to do: a NOTIFY came (a look at the socket, no round trip), a hole or a
        catch-up is due, or the connection is to be tried again. False while a poll or a wait holds the connection."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if self._closed:
                return False
            if self._lost:
                return time.monotonic() >= self._next_connect
            return self._take_notifies(0) or bool(self._holes) or time.monotonic() >= self._next_catch_up
        except Exception as exc:  # noqa: BLE001 - psycopg's errors: the next poll reconnects
            self._drop(exc)
            return True
        finally:
            self._lock.release()

    def wait(self, timeout: float) -> None:
        """Block up to `timeout` s until a NOTIFY arrives (the worker waits here, in a thread, while idle)."""
        with self._lock:
            if self._closed or self._lost or self._notified:
                return
            try:
                self._take_notifies(timeout)
            except Exception as exc:  # noqa: BLE001 - psycopg's errors: the next poll reconnects
                self._drop(exc)
        if self._lost:
            time.sleep(min(timeout, RECONNECT_EVERY_S))

    def _take_notifies(self, timeout: float) -> bool:
        for _ in self._conn.notifies(timeout=timeout, stop_after=1):
            self._notified = True
        if self._notified:
            for _ in self._conn.notifies(timeout=0):  # the rest, already here
                pass
        return self._notified

    def poll(self) -> list[ChangedFeed]:
        with self._lock:
            if self._closed:
                return []
            import psycopg

            try:
                if self._lost:
                    return self._reconnect()
                return self._poll()
            except psycopg.OperationalError as exc:
                self._drop(exc)
                return []

    def _drop(self, exc: Exception) -> None:
        if not self._lost:
            log.warning("change feed: database connection lost: %s", exc)
        self._lost = True
        self._next_connect = time.monotonic() + RECONNECT_EVERY_S
        with contextlib.suppress(Exception):  # the connection is gone either way
            self._conn.close()

    def _reconnect(self) -> list[ChangedFeed]:
        if time.monotonic() < self._next_connect:
            return []
        self._connect()  # raises OperationalError while the server is still away
        self._lost = False
        self.reconnects += 1
        self._reconnected_until = time.monotonic() + RECONNECTED_NOTE_S
        log.info("change feed: database connection back; catching up from seq %d", self._last_seq)
        return self._read()

    def _poll(self) -> list[ChangedFeed]:
        notified = self._take_notifies(0)
        if not notified and not self._holes and time.monotonic() < self._next_catch_up:
            return []
        return self._read()

    def _read(self) -> list[ChangedFeed]:
        self._notified = False
        self._next_catch_up = time.monotonic() + CATCH_UP_S
        holes = list(self._holes)
        rows = self._conn.execute(
            "SELECT seq, staff_id, message_id FROM change WHERE seq > %s OR seq = ANY(%s) ORDER BY seq",
            (self._last_seq, holes),
        ).fetchall()
        now = time.monotonic()
        for seq, *_ in rows:
            self._holes.pop(seq, None)
        self._holes = {seq: since for seq, since in self._holes.items() if now - since < HOLE_WAIT_S}
        new = [row for row in rows if row[0] > self._last_seq]
        if new:
            if new[0][0] > self._last_seq + 1 and self._trimmed_past(new[0][0]):
                self._last_seq = new[-1][0]
                self._holes.clear()
                return list(RELOAD_ALL)
            seen = {row[0] for row in new}
            for seq in range(self._last_seq + 1, new[-1][0]):
                if seq not in seen:
                    self._holes[seq] = now
            self._last_seq = new[-1][0]
        return group_changes(rows) if rows else []

    def _trimmed_past(self, seq: int) -> bool:
        oldest = self._conn.execute("SELECT min(seq) FROM change").fetchone()[0]
        return oldest is not None and oldest > self._last_seq + 1

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
