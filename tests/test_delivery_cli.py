"""The delivery commands and the dispatcher's name, through the real `staff-feed` command."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from staff_feed_tui.cli import main

ROSTER = """name,email,phone,accepts_texts,default_method
Dana Reyes,dana@example.com,+1 415 555 0101,yes,both
Priya Natarajan,priya@example.com,,no,email
"""


@pytest.fixture
def roster_db(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    assert main(["--data-dir", str(data_dir), "staff", "import", str(roster)]) == 0
    capsys.readouterr()
    return data_dir / "staff_feed.db"


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.mark.parametrize("name", ["alex\r\nBcc: evil@attacker.example", "alex\nx", "al\x1b]0;owned\x07ex", "a\u2028b"])
def test_a_dispatcher_name_with_a_control_character_is_refused(
    roster_db: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    code = main(["--data-dir", str(data_dir), "--as", name, "send", "--staff", "priya@example.com", "--body", "hi"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("staff-feed: the dispatcher name ")
    assert "control character" in err and "\x1b" not in err and "\r" not in err
    assert _count(roster_db, "message") == 0 and _count(roster_db, "dispatcher") == 0


def test_an_os_user_name_with_a_line_break_is_refused_too(roster_db: Path, data_dir: Path) -> None:
    """Without --as the name is the OS user's, which getpass reads from LOGNAME: an environment a caller sets."""
    env = {**os.environ, "LOGNAME": "alex\nBcc: evil@attacker.example", "STAFF_FEED_DATA_DIR": str(data_dir)}
    run = subprocess.run([sys.executable, "-m", "staff_feed_tui", "send", "--staff", "priya@example.com", "--body",
                          "hi"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and "control character" in run.stderr and "Traceback" not in run.stderr
    assert _count(roster_db, "message") == 0


def _fail_everything(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE delivery SET status = 'failed', attempts = 8, last_error = 'mail server refused'")


def test_retry_puts_matching_failed_deliveries_back(
    roster_db: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAFF_FEED_COMPANY__TEXT_MESSAGING", "true")
    base = ["--data-dir", str(data_dir), "--as", "alex"]
    for args in (["--staff", "dana@example.com", "--via", "both"], ["--staff", "dana@example.com"],
                 ["--staff", "priya@example.com"]):
        assert main([*base, "send", *args, "--body", "hello"]) == 0
    _fail_everything(roster_db)
    capsys.readouterr()

    assert main([*base, "--as", "sam", "retry", "--channel", "email", "--staff", "priya@example.com"]) == 0
    assert capsys.readouterr().out == "1 failed delivery queued again\n"
    with sqlite3.connect(roster_db) as conn:
        row = conn.execute(
            """SELECT d.status, d.attempts, p.name, d.retried_at IS NOT NULL, d.next_attempt_at <= d.retried_at
                 FROM delivery d JOIN message m ON m.id = d.message_id JOIN staff s ON s.id = m.staff_id
                 LEFT JOIN dispatcher p ON p.id = d.retried_by_id WHERE s.email = 'priya@example.com'"""
        ).fetchone()
    assert row == ("queued", 0, "sam", 1, 1)

    assert main([*base, "retry", "--since", "2099-01-01"]) == 0
    assert capsys.readouterr().out == "0 failed deliveries queued again\n"
    assert main([*base, "retry", "--channel", "sms"]) == 0
    assert capsys.readouterr().out == "1 failed delivery queued again\n"
    assert main([*base, "retry", "--since", "today"]) == 0
    assert capsys.readouterr().out == "2 failed deliveries queued again\n"
    with sqlite3.connect(roster_db) as conn:
        assert conn.execute("SELECT count(*) FROM delivery WHERE status = 'queued'").fetchone()[0] == 4


def test_retry_with_a_bad_date_or_staff_says_one_sentence(
    roster_db: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(data_dir), "retry", "--since", "last tuesday"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("staff-feed: --since: not a date") and err.count("\n") == 1
    assert main(["--data-dir", str(data_dir), "retry", "--staff", "nobody@example.com"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("staff-feed: ") and err.count("\n") == 1 and "Traceback" not in err
