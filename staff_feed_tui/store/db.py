"""The engine, its set-up per engine, and the two kinds of session.

SQLite: every connection gets WAL, a busy timeout, foreign keys and synchronous=NORMAL, and writes go through
`write_session`, which starts with `BEGIN IMMEDIATE`: with a deferred BEGIN, two processes doing read-then-write hit
"database is locked" 419 times in 1,000 on this machine; with IMMEDIATE, none (docs/architecture.md, "Measured
decisions"). PostgreSQL: READ COMMITTED with row locks, a pool whose connections are checked before use, and
`retrying` for the transactions that may meet a deadlock. What differs is in `dialects.py`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from staff_feed_tui.core.db_url import is_postgres, normalize_url, redact_url
from staff_feed_tui.store.dialects import dialect_of

BUSY_TIMEOUT_MS = 5000
RETRY_ATTEMPTS = 5  # a transaction that meets a deadlock or a serialization failure runs at most this often
T = TypeVar("T")
log = logging.getLogger(__name__)


class DatabaseBusy(RuntimeError):
    """Another process held the database for longer than the busy timeout."""


class DiskFull(RuntimeError):
    """The disk holding the database or the attachments has no room: the write was rolled back, nothing saved."""

    def __init__(self, where: object, what: str = "nothing was saved") -> None:
        super().__init__(f"the disk holding {where} is full; {what} (free some space and try again)")
        self.where = where


class DatabaseUrlError(ValueError):
    """`database.url` names no database staff-feed can open, in words."""


def shown_url(url: str) -> str:
    """The URL as it may be printed: a password in it is masked."""
    return redact_url(url)


def check_database_url(url: str) -> None:
    """Raise DatabaseUrlError with one sentence unless `url` is a SQLite or a PostgreSQL URL."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise DatabaseUrlError(
            f"database.url {shown_url(url)!r} is not a database URL: give sqlite:////path/to/staff_feed.db or "
            "postgresql://user@host/name"
        ) from None
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseUrlError(
            f"database.url {shown_url(url)!r} names {backend}, which staff-feed does not support: use a "
            "sqlite:////path/to/staff_feed.db or a postgresql://user@host/name URL"
        )


def sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        return Path(url[len(prefix) :].split("?", 1)[0])
    return None


def make_engine(
    url: str, *, password: str | None = None, pool_size: int = 5, busy_timeout_ms: int | None = None
) -> Engine:
    """Create the engine for `url`. Nothing connects until the first use; psycopg is imported only for PostgreSQL."""
    url = normalize_url(url)
    check_database_url(url)
    if is_postgres(url):
        return _postgres_engine(url, password=password, pool_size=pool_size)
    return _sqlite_engine(url, BUSY_TIMEOUT_MS if busy_timeout_ms is None else busy_timeout_ms)


def _postgres_engine(url: str, *, password: str | None, pool_size: int) -> Engine:
    parsed = make_url(url)
    if password and not parsed.password:
        parsed = parsed.set(password=password)
    engine = create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        # A connection the server or the network dropped is found and replaced before it is handed out.
        pool_pre_ping=True,
        isolation_level="READ COMMITTED",
        connect_args={"connect_timeout": 10, "application_name": "staff-feed"},
        hide_parameters=True,
    )
    dialect = dialect_of(engine)

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _driver_sql(_conn, _cursor, statement: str, parameters, context, _many: bool):  # type: ignore[no-untyped-def]
        # Statements run at the driver level (exec_driver_sql) are written once, with SQLite's `:name`
        # parameters; psycopg's are `%(name)s`. Compiled statements are in psycopg's style already.
        if parameters and context is not None and context.compiled is None:
            statement = dialect.sql(statement)
        return statement, parameters

    return engine


def _sqlite_engine(url: str, busy_timeout_ms: int) -> Engine:
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record: object) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's "begin" event below issue BEGIN itself, so writes can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        if connection.get_execution_options().get("write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def _busy_said(engine: Engine) -> Iterator[None]:
    """The write lock held by another process past the busy timeout becomes DatabaseBusy, and a full disk
    DiskFull, each in words."""
    try:
        yield
    except OperationalError as exc:
        if dialect_of(engine).is_busy(exc):
            raise DatabaseBusy(
                "the database is busy: another process has held it for more than "
                f"{BUSY_TIMEOUT_MS // 1000} s; nothing was saved, try again"
            ) from exc
        if is_disk_full(exc):
            raise DiskFull(f"the database {engine.url.database}") from exc
        raise


def is_disk_full(exc: BaseException) -> bool:
    """SQLite's "database or disk is full", or an OSError of no space left (ENOSPC) or quota (EDQUOT)."""
    import errno

    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(exc, OperationalError) and "disk is full" in str(exc.orig)


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session for one write transaction (BEGIN IMMEDIATE on SQLite) that commits on success.

    Raises DatabaseBusy when another process holds SQLite's write lock past the busy timeout, DiskFull when the
    disk has no room for the transaction.
    """
    with _busy_said(engine), Session(engine.execution_options(write=True), expire_on_commit=False) as session:
        yield session
        session.commit()


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """write_session without the ORM, for statements run at the driver level on a hot path (the outbox)."""
    with _busy_said(engine), engine.execution_options(write=True).begin() as conn:
        yield conn


def retrying(engine: Engine, transaction: Callable[[], T], attempts: int = RETRY_ATTEMPTS) -> T:
    """Run `transaction` (which opens and commits its own write) again when PostgreSQL ends it with a deadlock or a
    serialization failure, up to `attempts` times with a short growing pause; then the last error is raised."""
    dialect = dialect_of(engine)
    for attempt in range(1, attempts + 1):
        try:
            return transaction()
        except DBAPIError as exc:
            if attempt == attempts or not dialect.is_retryable(exc):
                raise
            log.info("transaction retried after %s (attempt %d)", type(exc.orig).__name__, attempt)
            time.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


def prepare_data_dir(data_dir: Path, shared_group: str | None = None) -> None:
    """Create the data dir with mode 0700, or 0770 and the group set when several OS accounts share it."""
    mode = 0o770 if shared_group else 0o700
    data_dir.mkdir(parents=True, exist_ok=True, mode=mode)
    set_access(data_dir, mode, shared_group)


def secure_database_file(path: Path, shared_group: str | None = None) -> None:
    """Make the SQLite file (and its WAL side files) 0600, or 0660 for a shared group."""
    mode = 0o660 if shared_group else 0o600
    for suffix in ("", "-wal", "-shm"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            set_access(candidate, mode, shared_group)


def touch_database_file(path: Path, shared_group: str | None = None) -> None:
    """Create the file with its final mode before SQLite opens it, so it is never world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o660 if shared_group else 0o600)
        os.close(fd)
    secure_database_file(path, shared_group)


def set_access(path: Path, mode: int, group: str | None) -> None:
    """Give `path` its mode, and with a shared group that group (and setgid on a directory, so that new files
    inherit the group). Not being the owner is left alone: the operator or the owner set it up already."""
    if group:
        import grp

        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise ValueError(f"shared_group {group!r} is not a group on this host") from None
        try:
            os.chown(path, -1, gid)
        except PermissionError:
            pass  # Not the owner: the operator set it up already.
        mode |= 0o2000 if path.is_dir() else 0  # setgid: new files inherit the group
    try:
        os.chmod(path, mode)
    except PermissionError:
        pass
