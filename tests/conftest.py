"""Shared fixtures: every test gets its own data dir, SQLite file and config; nothing touches the user's files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from staff_feed_tui.config import Settings, load_settings
from staff_feed_tui.core.roster import parse_roster
from staff_feed_tui.services import Services, open_services
from staff_feed_tui.store.staff import import_staff

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


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return load_settings(
        data_dir=data_dir,
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
