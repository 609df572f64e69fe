"""The raw bytes `staff-feed` sends to its terminal, from the first frame on: names are shown, never obeyed.

A staff name stored with escape sequences in it (written before names were cleaned at import, or by another
program) must reach the terminal as visible text. The app runs in a real pseudo-terminal and every byte it writes is
kept, from the start-up screen (painted from the database file before the settings load) to the exit.
"""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from staff_feed_tui.config import load_settings
from staff_feed_tui.core.roster import parse_roster
from staff_feed_tui.services import open_services
from staff_feed_tui.store.staff import import_staff

pytestmark = pytest.mark.e2e

# Each would act on the terminal if written raw: retitle it, plant a link, set the clipboard, turn on the printer
# (CSI 5 i), ask for the cursor position through the one-byte C1 CSI.
HOSTILE = {
    "OSC 0": "\x1b]0;RETITLED\x07",
    "OSC 8": "\x1b]8;;https://evil.example/\x1b\\",
    "OSC 52": "\x1b]52;c;ZXZpbA==\x07",
    "CSI": "\x1b[5i",
    "C1 CSI": "\x9b6n",
}


def _staff_feed() -> str:
    return shutil.which("staff-feed") or str(Path(sys.executable).parent / "staff-feed")


def _read_until(master: int, seen: bytearray, done: bytes, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while done not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out waiting for {done!r}; the app wrote {len(seen)} bytes")
        ready, _, _ = select.select([master], [], [], left)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the app closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"the app ended before {done!r}: {bytes(seen[-2000:])!r}")
            seen += chunk


# The real app from start-up to exit in a pseudo-terminal, each step with its own 30 s deadline.
@pytest.mark.timeout(300)
def test_hostile_names_reach_the_terminal_as_text_from_the_first_frame(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    services = open_services(load_settings(data_dir=data_dir), dispatcher="alex")
    roster = "name,email,phone,accepts_texts,default_method\n" + "".join(
        f"Staff {n},s{n}@example.com,,no,email\n" for n in range(len(HOSTILE))
    )
    import_staff(services.engine, [row for _, row in parse_roster(roster)[0]])
    services.close()
    with sqlite3.connect(data_dir / "staff_feed.db") as conn:
        for n, sequence in enumerate(HOSTILE.values()):
            conn.execute("UPDATE staff SET name = ? WHERE email = ?", (f"Eve{n} {sequence}Mallory", f"s{n}@example.com"))

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(STAFF_FEED_DATA_DIR=str(data_dir), TERM="xterm-256color")
    app = subprocess.Popen([_staff_feed(), "--as", "alex"], stdin=slave, stdout=slave, stderr=slave, env=env,
                           start_new_session=True)
    os.close(slave)
    seen = bytearray()
    try:
        _read_until(master, seen, b"Opening the conversation feeds", 30)  # the start-up screen
        _read_until(master, seen, b"dispatcher: alex", 30)  # the main screen
        _read_until(master, seen, b"Eve4", 30)  # its staff list
        os.write(master, b"\x11")  # Ctrl+Q
        deadline = time.monotonic() + 30
        while app.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
        assert app.wait(timeout=30) == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        os.close(master)

    out = bytes(seen)
    boot = out[: out.index(b"dispatcher: alex")]
    for n, (what, sequence) in enumerate(HOSTILE.items()):
        raw = sequence.encode()
        # A sequence cut short still acts (a terminal waits for the end of an OSC): check its opening part.
        head = raw[: raw.index(b";") + 1] if b";" in raw else raw
        if what == "OSC 0":
            head += b"RETITLED"
        elif what == "OSC 8":
            head += b";https://evil"
        assert head not in out, f"{what} reached the terminal raw"
        shown = sequence.replace("\x1b", "\\x1b").replace("\x9b", "\\x9b").replace("\x07", "\\x07")
        # The start-up screen's column is narrow: the name's start is enough to see it shown as text.
        assert f"Eve{n} {shown}"[:20].encode() in boot, f"{what} is not shown as text on the start-up screen"
