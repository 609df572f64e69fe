from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import staff_feed_tui.store.models  # noqa: F401 - registers the tables on SQLModel.metadata
from staff_feed_tui.store.db import DatabaseBusy, make_engine, write_session
from staff_feed_tui.store.migrations import HEAD, SCRIPT_LOCATION, current_revision, ensure_schema
from staff_feed_tui.store.models import Dispatcher


def test_head_constant_matches_the_scripts() -> None:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


def test_empty_database_upgrades_to_head_and_matches_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert current_revision(engine) is None
    assert ensure_schema(engine) is True
    assert current_revision(engine) == HEAD
    assert ensure_schema(engine) is False  # already at head: nothing runs
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    # Type differences between sa.DateTime and the UTCDateTime decorator are not schema changes, and the FTS5
    # table with its shadow tables belongs to the migrations alone.
    fts = [d for d in diffs if d[0] == "remove_table" and d[1].name.startswith("message_fts")]
    assert len(fts) == 5
    assert [d for d in diffs if d[0] != "modify_type" and d not in fts] == []


def test_change_log_triggers_survive_the_migrations(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 't.db'}")
    ensure_schema(engine)
    with engine.connect() as conn:
        triggers = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert {
        "change_message_insert", "change_message_update", "change_delivery_insert", "change_delivery_update",
        "change_staff_insert", "change_staff_update", "change_triage_insert", "change_triage_update",
    } <= triggers


def test_every_connection_gets_the_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_writes_begin_immediate(tmp_path: Path) -> None:
    """A write session takes the write lock at BEGIN, before its first statement."""
    path = tmp_path / "imm.db"
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    other = sqlite3.connect(path, timeout=0)
    with write_session(engine) as session:
        session.connection()  # BEGIN has run, nothing written yet
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # released at commit
    other.rollback()
    other.close()


def test_database_locked_by_another_process_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite:///{path}", busy_timeout_ms=200)
    ensure_schema(engine)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sqlite3, sys
                c = sqlite3.connect({str(path)!r}, isolation_level=None)
                c.execute("BEGIN IMMEDIATE")
                print("locked", flush=True)
                sys.stdin.readline()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(DatabaseBusy, match="database is busy.*nothing was saved"), write_session(engine) as session:
            session.add(Dispatcher(name="blocked"))
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    with write_session(engine) as session:
        session.add(Dispatcher(name="after"))
    with engine.connect() as conn:
        names = [r[0] for r in conn.exec_driver_sql("SELECT name FROM dispatcher")]
    assert names == ["after"]


def test_aware_datetimes_only(tmp_path: Path) -> None:
    from datetime import datetime

    engine = make_engine(f"sqlite:///{tmp_path / 'tz.db'}")
    ensure_schema(engine)
    with pytest.raises(Exception, match="naive datetime"), write_session(engine) as session:
        session.add(Dispatcher(name="naive", created_at=datetime(2026, 1, 1)))
