"""No client, no app: when the terminal hangs up, the app saves the draft and exits within a second.

The real `staff-feed` runs on a pseudo-terminal of its own; the test plays the terminal, then closes it, as sshd does
when the client's connection is gone. Once with the terminal as the app's controlling terminal (the kernel sends
SIGHUP), once without (no signal: the app must notice the hangup itself, or it would spin on the dead input).
"""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from staff_feed_tui.config import load_settings
from staff_feed_tui.services import open_services
from staff_feed_tui.store.drafts import load_drafts
from staff_feed_tui.store.staff import find_staff

pytestmark = pytest.mark.e2e

# Makes the pseudo-terminal on stdin the controlling terminal of a new session, then becomes staff-feed.
CONTROLLING = "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execv(sys.argv[1], sys.argv[1:])"
DETACHED = "import os, sys; os.execv(sys.argv[1], sys.argv[1:])"


class PtyApp:
    """staff-feed on a pseudo-terminal; the test reads what it draws and types into it."""

    def __init__(self, args: list[str], env: dict[str, str], *, controlling: bool) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        exe = str(Path(sys.executable).parent / "staff-feed")
        self.process = subprocess.Popen(
            [sys.executable, "-c", CONTROLLING if controlling else DETACHED, exe, *args],
            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True,
        )
        os.close(slave)
        self.output = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        import select

        while not self._stop.is_set():
            if not select.select([self.master], [], [], 0.05)[0]:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.output += chunk

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if text.encode() in self.output:
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never showed; the app wrote:\n{bytes(self.output[-3000:])!r}")
            time.sleep(0.02)

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def hang_up(self) -> float:
        """Close the terminal; returns how long the app took to exit."""
        # The reader stops first: a read blocked on the master in another thread would hold the terminal open
        # after close() until the app next wrote something.
        self._stop.set()
        self._reader.join()
        started = time.monotonic()
        os.close(self.master)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("the app was still running 10 s after the hangup") from None
        return time.monotonic() - started


@pytest.mark.parametrize("controlling", [True, False], ids=["sighup", "no-signal"])
def test_hangup_saves_the_draft_and_exits_within_a_second(tmp_path: Path, controlling: bool) -> None:
    from tests.conftest import ROSTER

    data = tmp_path / "data"
    settings = load_settings(data_dir=data, email={"transport": "file"}, sms={"transport": "file"})
    services = open_services(settings, dispatcher="alex")
    from staff_feed_tui.core.roster import parse_roster
    from staff_feed_tui.store.staff import import_staff

    import_staff(services.engine, [row for _, row in parse_roster(ROSTER)[0]])
    env = {**os.environ, "STAFF_FEED_DATA_DIR": str(data), "TERM": "xterm-256color"}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    app = PtyApp(["--as", "alex"], env, controlling=controlling)
    try:
        app.wait_for("Dana Reyes")
        app.type("i")
        app.type("gate code 4417")
        app.wait_for("4417")
        took = app.hang_up()
    finally:
        if app.process.poll() is None:
            app.process.kill()
            app.process.wait()
    assert took < 1.0, f"the app took {took:.2f} s to exit after the hangup (code {app.process.returncode})"
    dana = find_staff(services.engine, "dana@example.com")
    drafts = load_drafts(services.engine, "alex")
    assert drafts[dana.id].body == "gate code 4417"
    services.close()
