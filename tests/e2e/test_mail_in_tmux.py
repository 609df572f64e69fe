"""End to end across processes: the demo sends Dana an email (its file transport writes the .eml, Reply-To and
all); a reply to that Reply-To, handed to a running `staff-feed --demo mail-in` over LMTP, shows in the open feed
without its quoted text, and `v` shows the whole original."""

from __future__ import annotations

import os
import shutil
import smtplib
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests import mail_fixtures as fx
from tests.e2e.tmux import TmuxApp
from tests.smtp_server import free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


def test_a_reply_to_a_demo_email_shows_in_the_open_feed(tmp_path: Path) -> None:
    exe = shutil.which("staff-feed") or str(Path(sys.executable).parent / "staff-feed")
    port = free_port()
    env = {
        "STAFF_FEED_DATA_DIR": str(tmp_path / "data"),
        "STAFF_FEED_INBOUND_EMAIL__TRANSPORT": "lmtp",
        "STAFF_FEED_INBOUND_EMAIL__PORT": str(port),
        "TERM": "xterm-256color",
        "PATH": os.environ["PATH"],
    }
    app = TmuxApp([exe, "--demo", "--as", "alex"], width=100, height=30, env=env)
    mail_in = None
    try:
        app.wait_for(lambda s: "Staff (25)" in s, "the staff list")
        app.keys("j", "j", "j")
        app.wait_for(lambda s: "Dana Reyes  ·" in s, "Dana's feed")
        app.keys("i")
        app.type("Can you take the 9am walk?")
        app.keys("Enter")
        outbox = tmp_path / "data" / "demo" / "outbox" / "email"
        wait_until(lambda: any(outbox.glob("*.eml")), "the demo's email written by its file transport", timeout=20)
        sent = message_from_bytes(next(outbox.glob("*.eml")).read_bytes(), policy=policy.default)
        reply_to = str(sent["Reply-To"])
        assert reply_to.startswith("reply+") and reply_to.endswith("@replies.paws.example")
        mail_in = subprocess.Popen([exe, "--demo", "mail-in"], env={**os.environ, **env},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(lambda: _answers(port), "mail-in's LMTP port", timeout=20)
        raw = fx.gmail_reply(reply_to, text="Yes, [b]on it[/b].", from_addr="Dana Reyes <dana.reyes@example.com>",
                             in_reply_to=str(sent["Message-ID"]))
        with smtplib.LMTP("127.0.0.1", port) as client:
            assert client.sendmail("dana.reyes@example.com", [reply_to], raw) == {}
        handed = time.monotonic()
        app.wait_for(lambda s: "Yes, [b]on it[/b]." in s and "by email" in s, "the reply in the open feed",
                     timeout=5)
        print(f"\nshown {1000 * (time.monotonic() - handed):.0f} ms after LMTP answered 250")
        assert fx.QUOTED not in app.screen()
        app.keys("Escape")  # alone: ESC and a key sent together read as Alt+key
        app.wait_for(lambda s: "esc Leave" not in s, "the composer left")
        app.keys("G", "v")
        app.wait_for(lambda s: "The whole email" in s and fx.QUOTED in s, "the whole original")
    finally:
        if mail_in is not None:
            mail_in.terminate()
            mail_in.wait(10)
        app.close()


def _answers(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            return sock.recv(100).startswith(b"220")
    except OSError:
        return False
