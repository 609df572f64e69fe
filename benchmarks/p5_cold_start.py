"""P5: cold start of `staff-feed` on the 1M-message database until staff names are on screen, against a bare
Textual hello-world started the same way (a new process in tmux, the screen polled), in the same run.
Targets: <= 1.0 s, and <= 2x the bare app.

The names paint from a standard-library read while the rest loads (see `staff_feed_tui/store/quick.py`); the time
until the main screen is up is printed too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import machine, median

ROUNDS = 5
DB = Path("/tmp/staff-feed-1m.db")
HELLO = """
from textual.app import App
from textual.widgets import Static
class Hello(App):
    def compose(self):
        yield Static("Hello, dispatcher")
Hello().run()
"""


def time_to_screen(command: list[str], marker: str) -> float:
    socket = f"p5-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket]
    subprocess.run([*tmux, "new-session", "-d", "-s", "b", "-x", "100", "-y", "30", "sleep 600"], check=True)
    try:
        start = time.perf_counter()
        subprocess.run([*tmux, "respawn-pane", "-k", "-t", "b", "env -u COLUMNS -u LINES " + " ".join(command)],
                       check=True)
        while True:
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", "b"], capture_output=True, text=True).stdout
            if marker in screen:
                return time.perf_counter() - start
            if time.perf_counter() - start > 30:
                raise RuntimeError(f"{marker!r} never appeared:\n{screen}")
            time.sleep(0.005)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def main() -> None:
    print(f"P5 cold start · {machine()}")
    if not DB.exists():
        raise SystemExit(f"build {DB} first (see p1_p4_feed_and_staff.py)")
    exe = shutil.which("staff-feed") or str(Path(sys.executable).parent / "staff-feed")
    hello = Path(tempfile.mkdtemp()) / "hello.py"
    hello.write_text(HELLO)
    ours, bare, usable = [], [], []
    command = [exe, "--db", f"sqlite:///{DB}", "--as", "bench"]
    for _ in range(ROUNDS):
        bare.append(time_to_screen([sys.executable, str(hello)], "Hello, dispatcher"))
        ours.append(time_to_screen(command, "Staff (10000)"))
        usable.append(time_to_screen(command, "Find staff"))  # the main screen, ready for keys (for information)
    o, b = median(ours), median(bare)
    print(f"  bare Textual app: median {b:.2f} s  (rounds: {', '.join(f'{x:.2f}' for x in bare)})")
    print(f"  staff-feed, 10k staff / 1M messages: median {o:.2f} s  (rounds: {', '.join(f'{x:.2f}' for x in ours)})")
    print(f"  until the main screen is up (the find box shows; keys typed before are kept): median "
          f"{median(usable):.2f} s")
    print(f"  ratio {o / b:.2f}x; targets <= 1.0 s: {'MET' if o <= 1.0 else 'NOT MET'}, "
          f"<= 2x bare: {'MET' if o / b <= 2 else 'NOT MET'}")


if __name__ == "__main__":
    main()
