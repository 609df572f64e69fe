"""End to end at 80x24: a one-line message longer than a file name can be is sent, and the app lives on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.tmux import TmuxApp

pytestmark = pytest.mark.e2e


def test_a_long_one_line_message_is_sent_at_80x24(tmp_path: Path) -> None:
    """A one-line message over 255 bytes once ended the app on Enter (it was tried as a file name)."""
    exe = shutil.which("staff-feed") or str(Path(sys.executable).parent / "staff-feed")
    env = {"STAFF_FEED_DATA_DIR": str(tmp_path / "data"), "TERM": "xterm-256color", "PATH": os.environ["PATH"]}
    body = "Please call the Hendersons back about the gate code" + " and the side door" * 14 + " END-OF-NOTE"
    app = TmuxApp([exe, "--demo", "--as", "alex"], width=80, height=24, env=env)
    try:
        app.wait_for(lambda s: "Staff (25)" in s, "the staff list")
        app.keys("j", "j", "j")
        app.wait_for(lambda s: "Dana Reyes  ·" in s, "Dana's feed")
        app.keys("i")
        app.type(body)
        app.keys("Enter")
        screen = app.wait_for(lambda s: "END-OF-NOTE" in s and "Add a message" in s or "EXITED" in s,
                              "the sent message")
        assert "EXITED" not in screen and "Traceback" not in screen
    finally:
        app.close()
    feed = subprocess.run([exe, "--demo", "feed", "dana.reyes@example.com", "--json"], env={**os.environ, **env},
                          capture_output=True, text=True, check=True)
    assert json.loads(feed.stdout)[-1]["body"] == body
