"""End to end: a 10k-message feed in the real app, scrolled, then Home to the very first message."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.tmux import TmuxApp

pytestmark = pytest.mark.e2e


def test_scroll_a_10k_feed_to_its_oldest_message(tmp_path: Path) -> None:
    exe = shutil.which("staff-feed") or str(Path(sys.executable).parent / "staff-feed")
    db = tmp_path / "big.db"
    subprocess.run([exe, "--data-dir", str(tmp_path / "data"), "--db", f"sqlite:///{db}", "demo-data",
                    "--staff", "10", "--messages", "100000", "--seed", "7"], check=True, capture_output=True)
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM message WHERE staff_id = 1").fetchone()
        oldest, when = conn.execute(
            "SELECT body, created_at FROM message WHERE staff_id = 1 ORDER BY created_at, id LIMIT 1").fetchone()
    assert count == 10_000
    env = {"STAFF_FEED_DATA_DIR": str(tmp_path / "data"), "TERM": "xterm-256color", "PATH": os.environ["PATH"],
           "TZ": "UTC"}
    app = TmuxApp([exe, "--db", f"sqlite:///{db}", "--as", "alex"], width=100, height=30, env=env)
    try:
        app.wait_for(lambda s: "Staff (10)" in s, "the staff list")
        app.keys("C-f")
        app.type(".1@example.com")
        app.keys("Enter")  # opens the one match: staff member 1, with 10,000 messages
        app.wait_for(lambda s: ".1@example.com" in s.splitlines()[1], "staff member 1's feed")
        app.keys("Tab")  # to the feed
        app.wait_for(lambda s: "Mark unread" in s, "the feed focused (its keys in the footer)")
        for _ in range(8):
            app.keys("PageUp")
        app.keys("Home")
        day = when[:10]
        screen = app.wait_for(lambda s: day in s and oldest in s, "the oldest message")
        assert screen.index(day) < screen.index(oldest)
    finally:
        app.close()
