"""Driving the real `staff-feed` command in tmux, on a private tmux server."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable

from tests.waiting import wait_until


class TmuxApp:
    def __init__(self, command: list[str], *, width: int = 80, height: int = 24, env: dict[str, str] | None = None):
        if shutil.which("tmux") is None:
            raise RuntimeError("tmux is not installed; .ci/run installs it (apt-get install tmux)")
        self.socket = f"staff-feed-test-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        # `; sleep` keeps the pane (and its last screen) if the app exits early, so a failure can be read.
        # COLUMNS/LINES from the test process (pytest sets them) would override the pane's real size.
        shell = f"env -u COLUMNS -u LINES {exports} {shlex.join(command)}; echo EXITED $?; sleep 30"
        # A detached session can take its size a moment after it starts; an app that read the size before then
        # would draw at 80x24. So the pane idles until the size holds, then the app starts in it.
        self._tmux("new-session", "-d", "-s", "app", "-x", str(width), "-y", str(height), "sleep 600")
        size = f"{width}x{height}"
        wait_until(lambda: self._tmux("display", "-p", "-t", "app", "#{pane_width}x#{pane_height}").strip() == size,
                   f"the tmux pane to take its size {size}")
        self._tmux("respawn-pane", "-k", "-t", "app", shell)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True
        ).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "app")

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "app", *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "app", "-l", text)

    def resize(self, width: int, height: int) -> None:
        self._tmux("resize-window", "-t", "app", "-x", str(width), "-y", str(height))

    def wait_for(self, predicate: Callable[[str], bool], what: str, timeout: float = 20.0) -> str:
        """Poll the screen until `predicate` holds on it and it holds still, with a deadline.

        tmux can be read while the app is half-way through writing a frame (more often on a loaded machine), so a
        screen is taken as drawn only when two reads in a row are alike: assertions made on the returned screen are
        then about one whole frame. Put everything the test expects to appear into `predicate` itself, since two
        changes can come in two frames."""
        deadline = time.monotonic() + timeout
        previous = None
        while True:
            screen = self.screen()
            if predicate(screen) and screen == previous:
                return screen
            if time.monotonic() > deadline:
                size = self._tmux("display", "-p", "-t", "app", "#{pane_width}x#{pane_height}").strip()
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; the {size} screen was:\n{screen}")
            previous = screen
            time.sleep(0.05)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
