"""The change feed: what changed in the database since the last look, whoever wrote it.

Triggers add a row to `change` for every write that alters a feed; a reader keeps the last `seq` it saw and reads
the rows past it. What tells a reader to look differs per engine (`open_change_feed` picks):
- SQLite: `PRAGMA data_version` on a connection of our own changes whenever another connection (any thread or
  process) commits, and costs microseconds (`SqliteChangeFeed`);
- PostgreSQL: a NOTIFY sent by the trigger on `change` wakes every listening app and worker at once; the table is
  still read for what changed, so a reader whose connection dropped catches up after it reconnects
  (`store/pg_changes.py`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Engine

KEEP_CHANGES = 50_000  # rows of the change log kept by `trim_changes`; a reader further behind reloads everything
EVERYTHING = -1  # the staff_id of a ChangedFeed meaning "rows were trimmed before you read them: reload it all"


@dataclass(frozen=True, slots=True)
class ChangedFeed:
    staff_id: int
    message_ids: frozenset[int]
    staff_changed: bool


_TRIM = "DELETE FROM change WHERE seq <= (SELECT max(seq) FROM change) - {keep}"


def trim_changes(db: Path | Engine, keep: int = KEEP_CHANGES, timeout_s: float = 5.0) -> int:
    """Delete all but the newest `keep` rows of the change log (it gains about two rows a message); returns how many
    went. A reader that had not read the deleted rows yet sees the gap and reloads (see `SqliteChangeFeed.poll`).

    `db` is a SQLite file (opened with its own short busy timeout) or an engine (PostgreSQL)."""
    if not isinstance(db, Path):
        with db.begin() as connection:
            return connection.exec_driver_sql(_TRIM.format(keep=int(keep))).rowcount
    conn = sqlite3.connect(db, isolation_level=None, timeout=timeout_s)
    try:
        conn.execute("BEGIN IMMEDIATE")
        deleted = conn.execute(_TRIM.format(keep=int(keep))).rowcount
        conn.execute("COMMIT")
        return deleted
    finally:
        conn.close()


class ChangeSource(Protocol):
    # What a dispatcher should know about the connection ("" when all is well): shown in the top bar.
    connection_note: str
    # Whether `wait` returns as soon as something changes (PostgreSQL's NOTIFY); SQLite is polled instead.
    wakes: bool

    def changed(self) -> bool: ...

    def wait(self, timeout: float) -> None: ...

    def poll(self) -> list[ChangedFeed]: ...

    def close(self) -> None: ...


def open_change_feed(engine: Engine) -> ChangeSource:
    """The change feed for the engine's database, starting from now."""
    from staff_feed_tui.store.db import sqlite_path

    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if path is not None:
        return SqliteChangeFeed(path)
    from staff_feed_tui.store.pg_changes import PostgresChangeFeed

    return PostgresChangeFeed(engine)


def group_changes(rows: list[tuple[int, int, int | None]]) -> list[ChangedFeed]:
    """Change rows (seq, staff_id, message_id) as one ChangedFeed per staff member."""
    messages: dict[int, set[int]] = {}
    staff_rows: set[int] = set()
    for _, staff_id, message_id in rows:
        messages.setdefault(staff_id, set())
        if message_id is None:
            staff_rows.add(staff_id)
        else:
            messages[staff_id].add(message_id)
    return [
        ChangedFeed(staff_id=s, message_ids=frozenset(ids), staff_changed=s in staff_rows)
        for s, ids in messages.items()
    ]


RELOAD_ALL = (ChangedFeed(staff_id=EVERYTHING, message_ids=frozenset(), staff_changed=True),)


class SqliteChangeFeed:
    """Polls one SQLite file. A lock makes `poll` and `close` safe from different threads: the app polls in a thread
    worker and closes on exit, and closing a sqlite3 connection while another thread is inside it crashes the
    interpreter."""

    connection_note = ""  # a file has no connection to lose
    wakes = False

    def wait(self, timeout: float) -> None:
        time.sleep(timeout)

    def __init__(self, db_path: Path) -> None:
        self._lock = threading.Lock()
        self._closed = False
        # Read-write open (WAL readers need the -shm file), but nothing is ever written through it.
        self._conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._version = self._data_version()
        self._last_seq: int = self._conn.execute("SELECT coalesce(max(seq), 0) FROM change").fetchall()[0][0]

    def _data_version(self) -> int:
        # fetchall, not fetchone: a statement left unfinished keeps a read transaction open, and that snapshot
        # would hide every later commit from this connection.
        return self._conn.execute("PRAGMA data_version").fetchall()[0][0]

    def changed(self) -> bool:
        """Whether anything was committed since the last `poll`: one PRAGMA (microseconds), cheap enough for the UI
        thread to ask on a timer before it spends a thread on `poll`. False while a poll holds the connection."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            return not self._closed and self._data_version() != self._version
        finally:
            self._lock.release()

    def poll(self) -> list[ChangedFeed]:
        with self._lock:
            if self._closed:
                return []
            return self._poll()

    def _poll(self) -> list[ChangedFeed]:
        version = self._data_version()
        if version == self._version:
            return []
        self._version = version
        rows = self._conn.execute(
            "SELECT seq, staff_id, message_id FROM change WHERE seq > ? ORDER BY seq", (self._last_seq,)
        ).fetchall()
        if not rows:
            return []
        if rows[0][0] > self._last_seq + 1 and self._gap_before(rows[0][0]):
            self._last_seq = rows[-1][0]
            return list(RELOAD_ALL)
        self._last_seq = rows[-1][0]
        return group_changes(rows)

    def _gap_before(self, seq: int) -> bool:
        """Whether rows between the last one read and `seq` were trimmed (rather than never written: a rolled-back
        write also leaves a gap in the seq numbers, so the oldest kept row tells)."""
        oldest = self._conn.execute("SELECT min(seq) FROM change").fetchall()[0][0]
        return oldest is not None and oldest > self._last_seq + 1

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._conn.close()


class WalWatch:
    """Wakes a waiting worker the moment any process commits to the SQLite file, without polling: inotify on the
    data directory, for writes to the database's `-wal` file (every commit in WAL mode appends to it). Linux only;
    `open` returns None elsewhere, and the caller polls instead.

    Used as `loop.add_reader(watch.fileno(), callback)`; the callback calls `drain()` and then looks at the change
    log (`SqliteChangeFeed.poll`), which tells a real change from a heartbeat.
    """

    _IN_MODIFY, _IN_CREATE, _IN_NONBLOCK, _IN_CLOEXEC = 0x2, 0x100, 0o4000, 0o2000000

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def open(cls, db_path: Path) -> WalWatch | None:
        import ctypes
        import ctypes.util
        import os
        import sys

        if not sys.platform.startswith("linux"):
            return None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = libc.inotify_init1(cls._IN_NONBLOCK | cls._IN_CLOEXEC)
            if fd < 0:
                return None
            directory = os.fsencode(str(db_path.parent))
            if libc.inotify_add_watch(fd, directory, cls._IN_MODIFY | cls._IN_CREATE) < 0:
                os.close(fd)
                return None
        except (OSError, AttributeError):
            return None
        return cls(fd)

    def fileno(self) -> int:
        return self._fd

    def drain(self) -> None:
        """Read the pending events (their content does not matter: a look at the change log follows)."""
        import os

        try:
            while os.read(self._fd, 65536):
                pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        import os

        try:
            os.close(self._fd)
        except OSError:
            pass
