"""End to end across processes: a text posted to a running `staff-feed gateway` shows in a running `staff-feed`.

How soon it shows is printed, not asserted: a deadline of a second failed on a loaded machine while nothing was wrong
(speed is measured in benchmarks/, on a quiet machine; here it only has to arrive, through the change feed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.tmux import TmuxApp
from tests.smtp_server import free_port
from tests.twilio_signing import twilio_signature
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

PUBLIC = "https://feed.example.com"
TOKEN = "e2e-token"


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def test_inbound_text_reaches_the_open_feed(tmp_path: Path) -> None:
    exe = shutil.which("staff-feed") or str(Path(sys.executable).parent / "staff-feed")
    port = free_port()
    env = {
        "STAFF_FEED_DATA_DIR": str(tmp_path / "data"),
        "STAFF_FEED_SMS__ACCOUNT_SID": "AC" + "3" * 32,
        "STAFF_FEED_SMS__AUTH_TOKEN": TOKEN,
        "STAFF_FEED_GATEWAY__PUBLIC_URL": PUBLIC,
        "STAFF_FEED_GATEWAY__PORT": str(port),
        "TERM": "xterm-256color",
        "PATH": os.environ["PATH"],
    }
    app = TmuxApp([exe, "--demo", "--as", "alex"], width=100, height=30, env=env)
    gateway = None
    try:
        app.wait_for(lambda s: "Staff (25)" in s, "the staff list")
        gateway = subprocess.Popen([exe, "--demo", "gateway"], env={**os.environ, **env},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: _healthy(port), "the gateway to answer /healthz", timeout=20)
        app.keys("j", "j", "j")
        app.wait_for(lambda s: "Can I swap Thursday" in s, "Dana's feed")
        params = {"MessageSid": "SM" + "7" * 32, "From": "+14155550101", "To": "+14155550100",
                  "Body": "Gate is locked, [b]help[/b]", "NumMedia": "0"}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/twilio/sms",
            data=urllib.parse.urlencode(params).encode(),
            headers={"X-Twilio-Signature": twilio_signature(TOKEN, PUBLIC + "/twilio/sms", params)},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        posted = time.monotonic()
        app.wait_for(lambda s: "Gate is locked, [b]help[/b]" in s, "the text in the open feed")
        print(f"\nshown {1000 * (time.monotonic() - posted):.0f} ms after the gateway answered")
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(10)
        app.close()
