"""The suite's own guards (tests/README.md): no blinking cursors, no leaked time zone, tmux required where CI says."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from staff_feed_tui.services import Services
from staff_feed_tui.tui.app import make_app
from staff_feed_tui.tui.widgets.composer import Composer
from tests.conftest import require_tmux, time_zone_restored
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent


async def test_no_cursor_blinks_and_no_animation_runs(services: Services) -> None:
    """The autouse fixture reaches every TextArea and Input the app builds, subclasses included."""
    from textual.widgets import Input

    app = make_app(services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("i")
        composer = app.screen.query_one(Composer)
        await wait_for(pilot, lambda: app.focused is composer, "the composer focused")
        inputs = list(app.screen.query(Input))
        assert inputs, "the main screen has inputs (find, search, the filter drawer)"
        assert composer.cursor_blink is False
        assert all(widget.cursor_blink is False for widget in inputs)
        assert app.animation_level == "none"


def test_a_time_zone_set_by_a_test_does_not_outlive_it() -> None:
    before = time.localtime().tm_zone
    with time_zone_restored():
        os.environ["TZ"] = "Asia/Tokyo"
        time.tzset()
        assert time.localtime().tm_zone == "JST"
    assert time.localtime().tm_zone == before
    assert os.environ.get("TZ") != "Asia/Tokyo"


def test_missing_tmux_skips_the_e2e_tests_on_a_developer_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match="tmux is not installed"):
        require_tmux(required=False)


def test_missing_tmux_fails_the_e2e_tests_in_ci(tmp_path: Path) -> None:
    """As .ci/run runs them: STAFF_FEED_REQUIRE_TMUX=1 in the environment, here with no tmux on PATH."""
    base = {k: v for k, v in os.environ.items() if k != "STAFF_FEED_REQUIRE_TMUX"}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "-rE", "tests/e2e/test_composer_tmux.py"],
        cwd=ROOT, env={**base, "PATH": str(tmp_path), "STAFF_FEED_REQUIRE_TMUX": "1"},
        capture_output=True, text=True, timeout=110,
    )
    assert out.returncode != 0, out.stdout
    assert "1 error" in out.stdout.strip().splitlines()[-1], out.stdout
    assert "tmux is not installed (apt-get install tmux)" in out.stdout
    assert "STAFF_FEED_REQUIRE_TMUX is set" in out.stdout
