"""End to end: the real `staff-feed --demo` in tmux, as a dispatcher uses it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.tmux import TmuxApp

pytestmark = pytest.mark.e2e


def _command() -> list[str]:
    exe = shutil.which("staff-feed") or str(Path(sys.executable).parent / "staff-feed")
    return [exe]


@pytest.fixture
def demo(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {"STAFF_FEED_DATA_DIR": str(tmp_path / "data"), "TERM": "xterm-256color", "PATH": os.environ["PATH"]}
    app = TmuxApp([*_command(), "--demo", "--as", "alex"], width=80, height=24, env=env)
    yield app, tmp_path / "data" / "demo"
    app.close()


def test_demo_send_a_message_and_see_it_sent(demo) -> None:  # type: ignore[no-untyped-def]
    app, demo_dir = demo
    app.wait_for(lambda s: "Staff (25)" in s and "Aisha Rahman" in s, "the staff list")
    app.keys("j", "j", "j")
    app.wait_for(lambda s: "Dana Reyes  ·" in s, "Dana's feed")
    app.wait_for(lambda s: "Can I swap Thursday" in s, "Dana's latest message at the bottom")
    app.keys("i")
    app.type("Sure, swap approved [bold]ok[/] \\x1b[31m")
    app.keys("Enter")
    app.wait_for(lambda s: "email: sent" in s and "Sure, swap approved [bold]ok[/] \\x1b[31m" in s and "→ sent by alex" in s,
                 "the new message marked sent")
    emails = list((demo_dir / "outbox" / "email").glob("*.eml"))
    assert len(emails) == 1
    assert "Sure, swap approved [bold]ok[/]" in emails[0].read_text()
    app.keys("C-q")
    app.wait_for(lambda s: "EXITED 0" in s, "a clean exit")


def test_demo_at_120x40_no_color_escapes_and_help(tmp_path: Path) -> None:
    env = {
        "STAFF_FEED_DATA_DIR": str(tmp_path / "data"),
        "TERM": "xterm-256color",
        "PATH": os.environ["PATH"],
        "NO_COLOR": "1",
    }
    # A body with markup and a real escape sequence, queued by the CLI before the app starts.
    subprocess.run(
        [*_command(), "--demo", "send", "--staff", "dana.reyes@example.com", "--body", "[bold red]x[/] \x1b[31mred"],
        env={**os.environ, **env}, check=True, capture_output=True,
    )
    app = TmuxApp([*_command(), "--demo"], width=120, height=40, env=env)
    try:
        app.wait_for(lambda s: "Staff (25)" in s and "Zoe Castillo" in s, "the whole staff list at 120x40")
        app.keys("j", "j", "j")
        app.wait_for(lambda s: "Dana Reyes  ·  dana.reyes@example.com" in s, "Dana's feed")
        # Shown literally, the escape defused.
        screen = app.wait_for(lambda s: "[bold red]x[/] \\x1b[31mred" in s, "the body shown literally")
        assert "\x1b" not in screen
        # Status reads in words without colour, and failures shout.
        app.wait_for(lambda s: "FAILED (30006" in s or "sms: delivered" in s, "statuses in words")
        app.keys("?")
        app.wait_for(lambda s: "staff-feed keys" in s and "Next staff" in s, "the help screen")
        app.keys("Escape")
        app.wait_for(lambda s: "staff-feed keys" not in s, "help closed")
    finally:
        app.close()
