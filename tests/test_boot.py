"""Start-up: the staff names paint before the settings and the ORM load; keys typed meanwhile are kept."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

import pytest

from staff_feed_tui.cli import _quick_database_path, build_parser
from staff_feed_tui.services import Services
from staff_feed_tui.store.quick import read_staff_names
from staff_feed_tui.tui.app import StaffFeedApp
from tests.test_tui import wait_for


def test_names_read_without_the_orm_match_the_staff_list(services: Services) -> None:
    from staff_feed_tui.store.staff import list_staff

    assert services.db_path is not None
    assert read_staff_names(services.db_path) == [s.name for s in list_staff(services.engine)]
    assert read_staff_names(services.db_path.parent / "missing.db") is None
    garbage = services.db_path.parent / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    assert read_staff_names(garbage) is None


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_quick_database_path_follows_the_settings_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from staff_feed_tui.config import load_settings

    def settings_path(*argv: str) -> Path:
        args = _args(*argv)
        overrides: dict[str, object] = {}
        if args.data_dir:
            overrides["data_dir"] = args.data_dir
        if args.db:
            overrides["database"] = {"url": args.db}
        settings = load_settings(args.config, **overrides)
        if args.demo:
            from staff_feed_tui.services import demo_settings

            settings = demo_settings(settings)
        return Path(settings.database_url.removeprefix("sqlite:///"))

    config = tmp_path / "config.toml"
    config.write_text(f'data_dir = "{tmp_path / "from-toml"}"\n')
    cases = [
        (),
        ("--data-dir", str(tmp_path / "cli")),
        ("--db", f"sqlite:///{tmp_path / 'x.db'}"),
        ("--config", str(config)),
        ("--config", str(config), "--data-dir", str(tmp_path / "cli")),
        ("--demo",),
        ("--demo", "--db", f"sqlite:///{tmp_path / 'x.db'}"),
    ]
    for argv in cases:
        assert _quick_database_path(_args(*argv)) == settings_path(*argv), argv
    monkeypatch.setenv("STAFF_FEED_DATA_DIR", str(tmp_path / "env"))
    assert _quick_database_path(_args("--config", str(config))) == settings_path("--config", str(config))
    monkeypatch.setenv("STAFF_FEED_DATABASE__URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert _quick_database_path(_args()) == settings_path() == tmp_path / "env.db"
    monkeypatch.setenv("STAFF_FEED_DATABASE__URL", "postgresql://db/x")
    assert _quick_database_path(_args()) is None  # not SQLite: the app opens everything first


async def test_names_first_then_the_app_with_keys_typed_meanwhile(services: Services) -> None:
    from staff_feed_tui.tui.screens.boot import BootScreen
    from staff_feed_tui.tui.widgets.staff_list import StaffList

    assert services.db_path is not None
    names = read_staff_names(services.db_path)
    go = threading.Event()

    def opener() -> Services:
        go.wait(10)  # the settings and the database "still loading"
        return services

    app = StaffFeedApp(None, opener=opener, boot_names=names, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BootScreen), "the boot screen")
        shown = str(app.screen.query_one("#boot-names").render())
        assert shown.splitlines() == ["Dana Reyes", "Priya Natarajan", "Sam Okafor"]
        assert "Staff (3)" in str(app.screen.query_one("#boot-title").render())
        await pilot.press("j", "j")  # typed before the app is ready: kept, in order
        go.set()
        await wait_for(pilot, lambda: bool(app.screen.query(StaffList)), "the main screen")
        staff_list = app.screen.query_one(StaffList)
        await wait_for(pilot, lambda: staff_list.current is not None and staff_list.current.name == "Sam Okafor",
                       "both keys applied to the staff list")


async def test_a_failure_to_open_exits_with_the_reason(services: Services) -> None:
    def opener() -> Services:
        raise ValueError("cannot open the database sqlite:///x: disk I/O error")

    app = StaffFeedApp(None, opener=opener, boot_names=["Dana Reyes"], embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.startup_error is not None, "the failure")
    assert app.startup_error == "cannot open the database sqlite:///x: disk I/O error"
    assert app.return_code == 2


async def test_typing_in_the_find_box_while_starting_is_kept(services: Services) -> None:
    from textual.widgets import Input

    go = threading.Event()

    def opener() -> Services:
        go.wait(10)
        return services

    app = StaffFeedApp(None, opener=opener, boot_names=["Dana Reyes"], embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+f", *"sam@", "enter")
        go.set()
        await wait_for(pilot, lambda: bool(app.screen.query("#staff-find")), "the main screen")
        find = app.screen.query_one("#staff-find", Input)
        await wait_for(pilot, lambda: find.value == "sam@", "every letter in the find box")
        await wait_for(pilot, lambda: str(app.screen.query_one("#feed-title").render()).startswith("Sam Okafor"),
                       "Enter opened Sam's feed")
