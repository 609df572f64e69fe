"""The change feed: what changed in the database since the last look, whoever wrote it.

`PRAGMA data_version` on a connection of our own changes whenever another connection (any thread or process)
commits, and costs microseconds; only then are rows past the last seen `change.seq` read. The interface is small
so that PostgreSQL LISTEN/NOTIFY can stand in for it on a bigger deployment.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ChangedFeed:
    staff_id: int
    message_ids: frozenset[int]
    staff_changed: bool


class ChangeSource(Protocol):
    def poll(self) -> list[ChangedFeed]: ...

    def close(self) -> None: ...


class SqliteChangeFeed:
    """Polls one SQLite file. A lock makes `poll` and `close` safe from different threads: the app polls in a thread
    worker and closes on exit, and closing a sqlite3 connection while another thread is inside it crashes the
    interpreter."""

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
        self._last_seq = rows[-1][0]
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

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._conn.close()
