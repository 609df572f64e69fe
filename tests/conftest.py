"""Shared fixtures: every test gets its own data dir, SQLite file and config; nothing touches the user's files.

The rules that keep the suite deterministic are in tests/README.md; the fixtures below enforce the ones that can be
enforced for every test: no blinking cursors or animations, no leaked time zone, tmux present where it is required.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from staff_feed_tui.config import Settings, load_settings
from staff_feed_tui.core.roster import parse_roster
from staff_feed_tui.services import Services, open_services
from staff_feed_tui.store.staff import import_staff
from tests import postgres

ROSTER = """name,email,phone,accepts_texts,default_method
Dana Reyes,dana@example.com,+1 415 555 0101,yes,both
Sam Okafor,sam@example.com,+1 415 555 0102,yes,email
Priya Natarajan,priya@example.com,,no,email
"""


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No STAFF_FEED_* from the caller's shell, and the user config/data dirs point into a temp dir."""
    for key in list(os.environ):
        if key.startswith("STAFF_FEED_"):
            monkeypatch.delenv(key)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))


# Read at import, before `_isolated_environment` clears every STAFF_FEED_* variable for the tests themselves.
# .ci/run sets it: there a missing tmux must fail the end-to-end tests, not skip them.
REQUIRE_TMUX = os.environ.get("STAFF_FEED_REQUIRE_TMUX", "") not in ("", "0")


@pytest.fixture(autouse=True)
def _no_blinking_cursors_or_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cursors blink on a real-time timer and animations run on the clock, so a snapshot or an assertion on the
    screen could catch either phase. Off for every app a test builds (the widgets read these at creation)."""
    from textual import constants
    from textual.widgets import Input, TextArea

    for widget in (Input, TextArea):
        # The reactive's default is what every instance (and subclass: Composer, QuickInput…) starts with.
        monkeypatch.setattr(widget.cursor_blink, "_default", False)
    monkeypatch.setattr(constants, "TEXTUAL_ANIMATIONS", "none")


@pytest.fixture(autouse=True)
def _keys_handled_after_press(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pilot.press returns once Textual guesses the app is idle (CPU time against wall time over 20 ms), a guess a
    starved process passes early; and this app hands keys out one at a time (keys in arrival order), several
    messages apart. So after a press, wait until the app has handed out and handled every key (except while it is
    still starting, when it keeps them on purpose), then let the screen's widgets handle what those keys queued.
    What keys set off in a thread (a feed load) is still waited for by the test."""
    from textual.pilot import Pilot

    from tests.waiting import wait_for

    press = Pilot.press

    async def press_and_settle(self: Pilot, *keys: str) -> None:  # type: ignore[type-arg]
        await press(self, *keys)
        app = self.app
        if getattr(app, "_keys_waiting", None) is None:
            return

        def handled() -> bool:
            return not app.opened or (not app._keys_waiting and not app._key_busy())

        await wait_for(self, handled, f"the keys {keys} to be handled")
        await self.pause()

    monkeypatch.setattr(Pilot, "press", press_and_settle)


@contextmanager
def time_zone_restored() -> Iterator[None]:
    """A test that sets TZ and calls time.tzset() changes the process's local time for every later test in that
    worker; monkeypatch puts the variable back but not the C library's zone. This puts both back."""
    before = os.environ.get("TZ")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.fixture(autouse=True)
def _time_zone_restored() -> Iterator[None]:
    with time_zone_restored():
        yield


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC for this test (times on screen in snapshots); `_time_zone_restored` undoes it."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield


def require_tmux(required: bool) -> None:
    """Skip the calling test when tmux is missing, or fail it when `required` (CI)."""
    if shutil.which("tmux") is not None:
        return
    reason = "tmux is not installed (apt-get install tmux); the end-to-end tests drive the real command in it"
    if required:
        pytest.fail(f"{reason}, and STAFF_FEED_REQUIRE_TMUX is set", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _tmux_for_end_to_end(request: pytest.FixtureRequest) -> None:
    """The e2e tests drive the real command in tmux: without it they skip on a developer's machine and fail in CI."""
    if request.node.get_closest_marker("e2e") is not None:
        require_tmux(REQUIRE_TMUX)


ENGINES_MARK = "both_engines"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{ENGINES_MARK}: runs on PostgreSQL too when {postgres.ENV} is set")
    config.addinivalue_line("markers", "postgresql: the PostgreSQL run of a test (select with -m postgresql)")
    config.addinivalue_line("markers", "sqlite_only: a test of SQLite itself (its file, its locks), not run on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked both_engines that use the database get a second run on PostgreSQL when a server is given."""
    marked = metafunc.definition.get_closest_marker(ENGINES_MARK) is not None
    sqlite_only = metafunc.definition.get_closest_marker("sqlite_only") is not None
    if "engine_name" in metafunc.fixturenames and marked and not sqlite_only and postgres.server_url():
        metafunc.parametrize(
            "engine_name", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)], indirect=True
        )


@pytest.fixture
def engine_name(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture
def database_url(engine_name: str) -> Iterator[str | None]:
    """None (SQLite in the data dir), or a fresh PostgreSQL database cloned from the migrated template."""
    if engine_name == "sqlite":
        yield None
        return
    url = postgres.new_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture(scope="session", autouse=True)
def _postgres_template() -> Iterator[None]:
    yield
    if postgres.server_url():
        postgres.drop_template()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path, database_url: str | None) -> Settings:
    return load_settings(
        data_dir=data_dir,
        database={"url": database_url},
        company={"name": "Test Co", "text_messaging": True},
        email={"transport": "file", "from_address": "dispatch@test.example"},
        sms={"transport": "file", "from_number": "+14155550100"},
        delivery={"backoff_s": 0.05},
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    svc = open_services(settings, dispatcher="alex")
    rows, errors = parse_roster(ROSTER)
    assert not errors
    import_staff(svc.engine, [row for _, row in rows])
    yield svc
    svc.close()
