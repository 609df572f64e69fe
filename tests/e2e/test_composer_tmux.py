"""End to end, keyboard only: attach two files, remove one, send; the stored copy matches the original."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.tmux import TmuxApp

pytestmark = pytest.mark.e2e


def test_attach_two_remove_one_send(tmp_path: Path) -> None:
    exe = shutil.which("staff-feed") or str(Path(sys.executable).parent / "staff-feed")
    keep = tmp_path / "gate-code.txt"
    keep.write_text("Gate code 4417\n")
    drop = tmp_path / "old-rota.csv"
    drop.write_text("date,client\n2026-11-30,Henderson\n")
    env = {"STAFF_FEED_DATA_DIR": str(tmp_path / "data"), "TERM": "xterm-256color", "PATH": os.environ["PATH"]}
    app = TmuxApp([exe, "--demo", "--as", "alex"], width=80, height=24, env=env)
    try:
        app.wait_for(lambda s: "Staff (25)" in s, "the staff list")
        app.keys("j", "j", "j")
        app.wait_for(lambda s: "Dana Reyes  ·" in s, "Dana's feed")
        app.keys("i")
        app.type("Here is the gate code")
        app.keys("C-o")
        app.wait_for(lambda s: "Attach files" in s, "the picker")
        app.type(str(keep))
        app.keys("Enter")
        app.type(str(drop))
        app.keys("Enter")
        app.wait_for(lambda s: "gate-code.txt" in s and "old-rota.csv" in s, "both files chosen")
        app.keys("C-s")
        app.wait_for(lambda s: "2. old-rota.csv" in s, "both files in the tray")
        app.keys("Tab")  # composer -> tray
        app.keys("Down", "Delete")
        app.wait_for(lambda s: "old-rota.csv" not in s.split("Via:")[-1], "the second file removed")
        app.keys("BTab", "Enter")
        app.wait_for(lambda s: "↳ gate-code.txt" in s and "Here is the gate code" in s, "the sent message")
    finally:
        app.close()
    feed = subprocess.run([exe, "--demo", "feed", "dana.reyes@example.com", "--json"], env={**os.environ, **env},
                          capture_output=True, text=True, check=True)
    message = json.loads(feed.stdout)[-1]
    assert message["body"] == "Here is the gate code"
    (attachment,) = message["attachments"]
    assert attachment["filename"] == "gate-code.txt"
    original = hashlib.sha256(keep.read_bytes()).hexdigest()
    stored = tmp_path / "data" / "demo" / "attachments" / original[:2] / original
    assert attachment["sha256"] == original == hashlib.sha256(stored.read_bytes()).hexdigest()

