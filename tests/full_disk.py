"""Run inside a private mount namespace with a 1 MB tmpfs mounted at argv[1] (see test_errors.py): the real
`staff-feed` command meets a full disk on import, on send and in `worker --once`. Prints what each step gave as
JSON for the test to judge.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.smtp_server import Recorder, SmtpServer

ROSTER = "name,email,phone,accepts_texts,default_method\nDana Reyes,dana@example.com,,no,email\n"


def fill(mount: Path, leave: int = 0) -> None:
    """Fill the tmpfs until `leave` bytes or fewer are free."""
    with open(mount / "filler", "ab") as out:
        try:
            while os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize > leave:
                out.write(b"\0" * 4096)
                out.flush()
        except OSError:
            pass


def empty(mount: Path) -> None:
    (mount / "filler").unlink(missing_ok=True)


class FillingRecorder(Recorder):
    """An SMTP server that fills the disk as it accepts a message: the worker's results then cannot be written."""

    mount: Path

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        fill(self.mount)
        return await super().handle_DATA(server, session, envelope)


def main() -> None:
    mount = Path(sys.argv[1])
    data = mount / "data"
    exe = str(Path(sys.executable).parent / "staff-feed")
    server = SmtpServer()
    server.handler = FillingRecorder()
    server.handler.mount = mount
    server.start()
    env = {**os.environ, "STAFF_FEED_DATA_DIR": str(data), "STAFF_FEED_EMAIL__TRANSPORT": "smtp",
           "STAFF_FEED_EMAIL__HOST": "127.0.0.1", "STAFF_FEED_EMAIL__PORT": str(server.port),
           "STAFF_FEED_EMAIL__SECURITY": "none"}

    def run(*args: str) -> dict[str, object]:
        done = subprocess.run([exe, "--as", "alex", *args], env=env, capture_output=True, text=True, timeout=120)
        return {"rc": done.returncode, "out": done.stdout, "err": done.stderr}

    def count(table: str) -> int:
        with sqlite3.connect(f"file:{data / 'staff_feed.db'}?mode=ro", uri=True) as conn:
            return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    results: dict[str, object] = {}
    roster = mount.parent / "roster.csv"  # outside the tmpfs
    roster.write_text(ROSTER)
    results["setup"] = run("staff", "import", str(roster))

    # worker --once: the email goes out, and the disk fills before its result is written.
    results["queued"] = run("send", "--staff", "dana@example.com", "--body", "Key is under the mat")
    results["worker"] = run("worker", "--once")
    results["worker_received"] = len(server.handler.messages)
    empty(mount)
    results["worker_status"] = sqlite3.connect(data / "staff_feed.db").execute(
        "SELECT status FROM delivery").fetchall()

    # send with a file larger than the room left.
    fill(mount, leave=200_000)
    big = mount.parent / "rota.pdf"
    big.write_bytes(b"%PDF" + os.urandom(400_000))
    results["send_attachment"] = run("send", "--staff", "dana@example.com", "--body", "rota", "--attach", str(big))
    results["messages_after_send"] = count("message")

    # send with no room at all.
    fill(mount)
    results["send_full"] = run("send", "--staff", "dana@example.com", "--body", "hello")
    empty(mount)
    results["messages_after_full_send"] = count("message")

    # import of a roster too large for the room left: one transaction, rolled back.
    fill(mount, leave=150_000)
    rows = "".join(f"Person {n},p{n}@example.com,,no,email\n" for n in range(20_000))
    roster.write_text(ROSTER + rows)
    results["import"] = run("staff", "import", str(roster))
    empty(mount)
    results["staff_after_import"] = count("staff")
    server.stop()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
