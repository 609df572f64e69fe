"""End to end: filter a feed, clear it, remove a message, find it under History and restore it, in tmux."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.test_demo_tmux import _command
from tests.e2e.tmux import TmuxApp

pytestmark = pytest.mark.e2e


def test_filter_clear_remove_history_restore(tmp_path: Path) -> None:
    env = {"STAFF_FEED_DATA_DIR": str(tmp_path / "data"), "TERM": "xterm-256color", "PATH": os.environ["PATH"],
           "NO_COLOR": "1"}
    app = TmuxApp([*_command(), "--demo", "--as", "alex"], width=100, height=30, env=env)
    try:
        app.wait_for(lambda s: "Staff (25)" in s, "the staff list")
        app.keys("j", "j", "j")
        app.wait_for(lambda s: "Dana Reyes  ·" in s and "Can I swap Thursday" in s, "Dana's feed")
        # Received, with attachments, the last 7 days: by the drawer's fields and keys.
        app.keys("Tab", "\\")
        app.wait_for(lambda s: "Has attachments" in s and "Clear filters" in s, "the drawer")
        app.keys("Tab", "Tab", "Tab", "Tab", "Tab", "Tab")  # Clear, From, To, Today, 7 days, 30 days
        app.keys("BTab")  # back to 7 days
        app.keys("Enter")
        app.wait_for(lambda s: "1 Filter Applied" in s, "the last 7 days")
        app.keys("Tab", "Tab", "Space")  # Has attachments
        app.wait_for(lambda s: "[x] Has attachments" in s and "2 Filters Applied" in s, "with attachments")
        app.keys("Tab", "Right", "Right")  # Direction: Received
        # The query line follows the radio a frame later: wait for both, or a frame between them is read.
        app.wait_for(lambda s: "3 Filters Applied" in s and "(•) Received" in s
                     and ":filter -d 7d -a -r received" in s, "received, and its query line")
        app.keys("Escape")
        screen = app.wait_for(lambda s: "Has attachments" not in s and "Lopez side gate" in s, "the matches")
        assert "lopez-gate.png" in screen
        assert "Biscuit" not in screen  # received with a photo, but 16 days ago
        assert "Running 10 min late" not in screen and "Can I swap" not in screen  # no attachments
        # Clear them.
        app.keys("\\", "Tab", "Enter")
        app.wait_for(lambda s: "No Filters Applied" in s, "cleared")
        app.keys("Escape")
        app.wait_for(lambda s: "Can I swap Thursday" in s and "Add a message" in s, "the whole feed again")
        # Remove the newest message (the cursor starts on it).
        app.keys("d")
        screen = app.wait_for(lambda s: "Remove this message?" in s and "cannot be recalled." in s, "the question")
        assert "An email already delivered" in screen
        app.keys("y")
        app.wait_for(lambda s: "Removed 'Can I swap" in s and "undo" in s, "removed, named")
        # Find it under History, restore it.
        app.keys("H")
        # (the toast names the message too: the History entry is the one with its remover)
        app.wait_for(lambda s: "Conversations" in s and "Can I swap Thursday" in s and "by alex" in s, "History")
        app.keys("r")
        app.wait_for(lambda s: "No removed messages." in s, "restored")
        app.keys("Escape")
        app.wait_for(lambda s: "Can I swap Thursday" in s and "Add a message" in s, "back in the feed")
        app.keys("C-q")
        app.wait_for(lambda s: "EXITED 0" in s, "a clean exit")
    finally:
        app.close()
