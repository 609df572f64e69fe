"""Idle CPU: 10 `staff-feed` apps open on one database (one of them running the embedded worker, as heartbeats
decide), against 10 bare Textual apps, all in real terminals (tmux panes) at the same time. Target: <= 3x bare.

Each process's CPU time (user + system, all its threads, from /proc/<pid>/stat) is read at the start and the end of
a window after the apps have settled; the figure is the share of one core each process used.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import ROOT, machine

APPS = 10
SETTLE_S = 20.0
WINDOW_S = 60.0
TICK = os.sysconf("SC_CLK_TCK")
HELLO = """
from textual.app import App
from textual.widgets import Static
class Hello(App):
    def compose(self):
        yield Static("Hello, dispatcher")
Hello().run()
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (threads included, ended ones too)


def main() -> None:
    print(f"Idle CPU · {machine()}")
    data_dir = Path(tempfile.mkdtemp(prefix="staff-feed-idle-"))
    roster = data_dir.parent / f"{data_dir.name}.csv"
    roster.write_text("name,email,phone,accepts_texts,default_method\n" + "".join(
        f"Staff {n},staff{n}@example.com,,no,email\n" for n in range(50)))
    env = {**os.environ, "STAFF_FEED_DATA_DIR": str(data_dir), "STAFF_FEED_EMAIL__TRANSPORT": "file",
           "PYTHONPATH": str(ROOT)}
    exe = [sys.executable, "-m", "staff_feed_tui"]
    subprocess.run([*exe, "staff", "import", str(roster)], env=env, check=True, capture_output=True)
    hello = data_dir / "hello.py"
    hello.write_text(HELLO)
    socket = f"idle-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket]
    env_words = " ".join(f"{k}={v}" for k, v in env.items() if k.startswith("STAFF_FEED_") or k == "PYTHONPATH")
    ours_cmd = f"exec env {env_words} {' '.join(exe)} --as bench"
    bare_cmd = f"exec {sys.executable} {hello}"
    subprocess.run([*tmux, "new-session", "-d", "-s", "idle", "-x", "120", "-y", "40", "sleep 3600"], check=True)
    try:
        pids: dict[str, list[int]] = {"staff-feed": [], "bare Textual": []}
        for n in range(APPS):
            for kind, command in (("staff-feed", ours_cmd), ("bare Textual", bare_cmd)):
                window = f"{kind[:4]}{n}"
                subprocess.run([*tmux, "new-window", "-d", "-n", window, "-t", "idle", command], check=True)
                pid = subprocess.run([*tmux, "display", "-p", "-t", f"idle:{window}", "#{pane_pid}"],
                                     capture_output=True, text=True, check=True).stdout.strip()
                pids[kind].append(int(pid))
        time.sleep(SETTLE_S)  # start-up, the first delivery look, the embedded worker's start
        before = {pid: cpu_seconds(pid) for group in pids.values() for pid in group}
        started = time.monotonic()
        time.sleep(WINDOW_S)
        elapsed = time.monotonic() - started
        after = {pid: cpu_seconds(pid) for group in pids.values() for pid in group}
        share = {kind: [100 * (after[p] - before[p]) / elapsed for p in group] for kind, group in pids.items()}
        for kind, values in share.items():
            print(f"  {kind:<13} per app: median {statistics.median(values):.2f}% of a core, "
                  f"max {max(values):.2f}%, all {APPS} together {sum(values):.2f}%  "
                  f"({' '.join(f'{v:.2f}' for v in sorted(values))})")
        ours, bare = sum(share["staff-feed"]), sum(share["bare Textual"])
        ratio = ours / bare if bare else float("inf")
        print(f"  ratio (10 apps / 10 bare apps, {elapsed:.0f} s window): {ratio:.2f}x  (target <= 3x) "
              f"{'PASS' if ratio <= 3 else 'MISS'}")
        with __import__("sqlite3").connect(data_dir / "staff_feed.db") as conn:
            workers = conn.execute("SELECT kind, count(*) FROM worker_heartbeat GROUP BY kind").fetchall()
        print(f"  workers alive by their heartbeats: {dict(workers)}")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


if __name__ == "__main__":
    main()
