"""`staff-feed demo-data`: a large, realistic database, the same one for the same seed."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from staff_feed_tui.cli import main
from staff_feed_tui.store.synthetic import FAILURES


def _build(tmp_path: Path, name: str, seed: int) -> Path:
    db = tmp_path / f"{name}.db"
    assert main(["--data-dir", str(tmp_path / name), "--db", f"sqlite:///{db}", "demo-data",
                 "--staff", "40", "--messages", "3000", "--seed", str(seed)]) == 0
    return db


def _dump(db: Path) -> list[tuple[object, ...]]:
    """The contents, times as offsets from the first message (the data ends at the moment of the build)."""
    with sqlite3.connect(db) as conn:
        messages = conn.execute("SELECT id, staff_id, direction, body, created_at FROM message ORDER BY id").fetchall()
        first = datetime.fromisoformat(messages[0][4])
        return [
            *conn.execute("SELECT id, name, email, phone FROM staff ORDER BY id"),
            *[(*row[:4], datetime.fromisoformat(row[4]) - first) for row in messages],
            *conn.execute("SELECT id, message_id, channel, status, last_error FROM delivery ORDER BY id"),
        ]


def test_the_same_seed_builds_the_same_database(tmp_path: Path) -> None:
    first, again, other = _build(tmp_path, "a", 7), _build(tmp_path, "b", 7), _build(tmp_path, "c", 8)
    assert _dump(first) == _dump(again)
    assert _dump(first) != _dump(other)


def test_built_data_is_consistent(tmp_path: Path) -> None:
    db = _build(tmp_path, "a", 3)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM message").fetchone() == (3000,)
        assert conn.execute("SELECT count(*) FROM staff").fetchone() == (40,)
        # Ids follow time, as for messages stored as they are sent or received (the all-staff search relies on it).
        times = [t for (t,) in conn.execute("SELECT created_at FROM message ORDER BY id")]
        assert times == sorted(times)
        # The first staff member is the long-serving one: a tenth of everything.
        (busiest,) = conn.execute("SELECT count(*) FROM message WHERE staff_id = 1").fetchone()
        assert busiest == 300
        # A failed delivery says why in its own channel's words (no SMS carrier codes on an email).
        failed = conn.execute("SELECT channel, last_error FROM delivery WHERE status = 'failed'").fetchall()
        assert failed and all(error == FAILURES[channel] for channel, error in failed)
        assert {channel for channel, _ in failed} == {"email", "sms"}
        # Only outbound messages have deliveries; the search index holds every message.
        assert conn.execute(
            "SELECT count(*) FROM delivery d JOIN message m ON m.id = d.message_id WHERE m.direction != 'out'"
        ).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM message_fts").fetchone() == (3000,)


def test_demo_data_refuses_bad_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--data-dir", str(tmp_path), "--db", f"sqlite:///{tmp_path / 'x.db'}", "demo-data",
                 "--staff", "0", "--messages", "10"])
    assert code != 0
    assert "--staff must be at least 1" in capsys.readouterr().err
