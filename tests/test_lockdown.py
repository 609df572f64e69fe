"""A locked session: which editor may run, what the picker may reach, and what the palette offers."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staff_feed_tui.config import Settings, load_settings
from staff_feed_tui.core.draft import DraftError
from staff_feed_tui.core.lockdown import AttachScope, EditorRefused, editor_command, session_is_locked
from staff_feed_tui.services import Services, open_services
from staff_feed_tui.services.session import session_policy
from tests.conftest import ROSTER

# ---- is the session locked ---------------------------------------------------------------------------------------


def test_a_session_is_locked_by_the_forced_command_the_config_or_a_key_bound_name() -> None:
    assert session_is_locked({"SSH_ORIGINAL_COMMAND": "bash"}, configured=False, as_name=None, os_user="u")
    assert session_is_locked({"SSH_ORIGINAL_COMMAND": ""}, configured=False, as_name=None, os_user="u")
    assert session_is_locked({}, configured=True, as_name=None, os_user="u")
    # The service account's key: sshd runs `staff-feed --as dana`, and sets no SSH_ORIGINAL_COMMAND for `ssh -t`.
    assert session_is_locked({"SSH_CONNECTION": "1 2 3 4"}, configured=False, as_name="dana", os_user="staff-feed")
    assert not session_is_locked({"SSH_CONNECTION": "1 2 3 4"}, configured=False, as_name="u", os_user="u")
    assert not session_is_locked({"SSH_CONNECTION": "1 2 3 4"}, configured=False, as_name=None, os_user="u")
    assert not session_is_locked({}, configured=False, as_name="dana", os_user="u")


# ---- which editor ------------------------------------------------------------------------------------------------


def test_unlocked_editor_is_the_configured_one_then_visual_then_editor_then_vi() -> None:
    assert editor_command({}, locked=False, configured=None) == ["vi"]
    assert editor_command({"EDITOR": "nano -w"}, locked=False, configured=None) == ["nano", "-w"]
    assert editor_command({"EDITOR": "nano", "VISUAL": "code --wait"}, locked=False, configured=None)[0] == "code"
    assert editor_command({"EDITOR": "nano"}, locked=False, configured="emacs -nw") == ["emacs", "-nw"]


@pytest.mark.parametrize("configured", [None, "vi", "vim -Z", "rvim", "nano -R", "sh -c rnano", "/bin/sh", "'", ""])
def test_a_locked_session_runs_no_editor_but_a_restricted_one(configured: str | None) -> None:
    with pytest.raises(EditorRefused):
        editor_command({"EDITOR": "rnano", "VISUAL": "rnano"}, locked=True, configured=configured)


def test_a_locked_session_may_run_rnano() -> None:
    assert editor_command({"EDITOR": "vi"}, locked=True, configured="/usr/bin/rnano") == ["/usr/bin/rnano"]


# ---- what may be attached ----------------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """An attach root with a file, a symlink out, a symlink in, and a data dir beside it."""
    root = tmp_path / "drop"
    (root / "sub").mkdir(parents=True)
    (root / "rota.pdf").write_bytes(b"%PDF rota")
    (root / "sub" / "photo.jpg").write_bytes(b"jpeg")
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    (root / "out-link").symlink_to(outside)
    (root / "out-dir").symlink_to(tmp_path)
    (root / "in-link.pdf").symlink_to(root / "rota.pdf")
    data = tmp_path / "data"
    data.mkdir()
    (data / "staff_feed.db").write_bytes(b"SQLite format 3\0")
    return {"root": root, "outside": outside, "data": data, "db": data / "staff_feed.db"}


def test_the_scope_keeps_to_its_root(tree: dict[str, Path]) -> None:
    scope = AttachScope(root=tree["root"], never=(tree["data"],))
    cwd = Path("/")
    assert scope.check("rota.pdf", cwd).path == tree["root"] / "rota.pdf"
    assert scope.check("sub/photo.jpg", cwd).filename == "photo.jpg"
    assert scope.check(str(tree["root"] / "sub/photo.jpg"), cwd).size == 4  # absolute, but inside
    assert scope.check("in-link.pdf", cwd).path == tree["root"] / "rota.pdf"
    for raw in ("../outside.txt", "sub/../../outside.txt", str(tree["outside"]), "out-link", "out-dir/outside.txt",
                "/etc/passwd", str(tree["db"]), "../data/staff_feed.db"):
        with pytest.raises(DraftError, match="can be attached here"):
            scope.check(raw, cwd)
    with pytest.raises(DraftError, match="^attachment not found: .*/drop/~/.ssh/authorized_keys$"):
        scope.check("~/.ssh/authorized_keys", cwd)  # `~` is a name like any other under the root
    assert not scope.visible(tree["root"] / "out-link")
    assert scope.visible(tree["root"] / "in-link.pdf")


def test_the_data_dir_is_never_attachable_even_unlocked(tree: dict[str, Path]) -> None:
    scope = AttachScope(root=None, never=(tree["data"],))
    assert scope.check(str(tree["outside"]), Path("/")).filename == "outside.txt"
    link = tree["root"] / "db-link"
    link.symlink_to(tree["db"])
    for raw in (str(tree["db"]), str(link), "staff_feed.db"):
        with pytest.raises(DraftError, match="^this file cannot be attached: .* the app's own data or configuration$"):
            scope.check(raw, tree["data"])


@given(st.lists(st.sampled_from(["..", ".", "sub", "out-dir", "out-link", "rota.pdf", "", "/", "//", "~", "\x1b[2J"]),
                max_size=6))
@settings(max_examples=200, deadline=None)
def test_whatever_is_typed_the_scope_resolves_inside_its_root(tmp_path_factory: pytest.TempPathFactory,
                                                              parts: list[str]) -> None:
    base = tmp_path_factory.getbasetemp() / "scope-property"
    root = base / "drop"
    if not root.exists():
        (root / "sub").mkdir(parents=True)
        (root / "rota.pdf").write_bytes(b"x")
        (root / "out-link").symlink_to("/etc/hostname")
        (root / "out-dir").symlink_to(base)
    scope = AttachScope(root=root)
    try:
        real = scope.resolve("/".join(parts), Path("/"))
    except DraftError as exc:
        assert "\x1b" not in str(exc)
        return
    assert real == root or real.is_relative_to(root)


def test_the_policy_never_lets_the_config_the_secrets_or_the_database_be_attached(tmp_path: Path) -> None:
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    secret = tmp_path / "secrets" / "smtp"
    secret.parent.mkdir()
    secret.write_text("hunter2\n")
    config = config_dir / "config.toml"
    config.write_text(f'[email]\npassword_file = "{secret}"\n')
    db = tmp_path / "elsewhere" / "feed.db"
    db.parent.mkdir()
    db.write_bytes(b"db")
    settings = load_settings(config, data_dir=tmp_path / "data", database={"url": f"sqlite:///{db}"})
    policy = session_policy(settings, "alex", as_name=None, os_user="alex", env={})
    assert not policy.locked and policy.attach.root is None
    for path in (config, secret, db):
        with pytest.raises(DraftError, match="cannot be attached"):
            policy.attach.check(str(path), tmp_path)


def test_a_locked_session_attaches_from_its_own_drop_folder(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", tui={"locked": True})
    policy = session_policy(settings, "dana", as_name="dana", os_user="staff-feed", env={})
    drop = tmp_path / "data" / "drop" / "dana"
    assert policy.locked and policy.attach.root == drop
    assert stat.S_IMODE(drop.stat().st_mode) == 0o700
    (drop / "rota.pdf").write_bytes(b"rota")
    assert policy.attach.check("rota.pdf", Path("/")).path == drop / "rota.pdf"
    (tmp_path / "data" / "drop" / "sam").mkdir()
    (tmp_path / "data" / "drop" / "sam" / "x.pdf").write_bytes(b"x")
    with pytest.raises(DraftError, match="can be attached here"):
        policy.attach.check("../sam/x.pdf", Path("/"))
    with pytest.raises(ValueError, match="dispatcher name '..' is not valid"):
        session_policy(settings, "..", as_name="..", os_user="staff-feed", env={})


# ---- in the app ---------------------------------------------------------------------------------------------------


@pytest.fixture
def locked_services(tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Services:
    """A locked session (the forced command's variable set), with a `vi`, `nano` and $EDITOR that leave a mark."""
    from staff_feed_tui.core.roster import parse_roster
    from staff_feed_tui.store.staff import import_staff

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marks = tmp_path / "marks"
    marks.mkdir()
    for name in ("vi", "vim", "nano", "rnano", "sh", "editor", "xdg-open", "sensible-browser", "www-browser"):
        program = bin_dir / name
        program.write_text(f"#!/bin/sh\ntouch {marks}/{name}\n")
        program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("EDITOR", str(bin_dir / "editor"))
    monkeypatch.setenv("VISUAL", str(bin_dir / "editor"))
    monkeypatch.setenv("BROWSER", str(bin_dir / "www-browser"))
    monkeypatch.setenv("SSH_ORIGINAL_COMMAND", "bash -i")
    services = open_services(settings, dispatcher="alex")
    rows, _ = parse_roster(ROSTER)
    import_staff(services.engine, [row for _, row in rows])
    services.marks = marks  # type: ignore[attr-defined]
    return services


async def test_ctrl_e_and_f4_start_no_program_in_a_locked_session(locked_services: Services) -> None:
    from textual.widgets import Static

    from staff_feed_tui.tui.app import make_app
    from staff_feed_tui.tui.widgets.composer import Composer
    from tests.test_tui import _ready, wait_for

    assert locked_services.policy.locked
    app = make_app(locked_services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("i", *"draft")
        composer = app.screen.query_one(Composer)
        error = app.screen.query_one("#composer-error", Static)
        await pilot.press("ctrl+e")  # the end of the line, as in readline: the editor is F4 alone
        assert not error.display and composer.text == "draft"
        for key in ("f4",):
            error.update("")
            error.display = False
            await pilot.press(key)
            await wait_for(pilot, lambda: error.display, f"the refusal after {key}")
            assert "no external editor in this session" in str(error.render())
        app.open_url("https://example.com/")
        await pilot.pause()
        assert composer.text == "draft"
    assert list(locked_services.marks.iterdir()) == []  # type: ignore[attr-defined]


async def test_the_palette_of_a_locked_session_offers_nothing_that_starts_a_program(
        locked_services: Services) -> None:
    from staff_feed_tui.tui.app import make_app
    from tests.test_tui import _ready

    app = make_app(locked_services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert titles <= {"Theme", "Quit", "Keys", "Minimize", "Maximize"}, titles
        # Each one that keeps the app running is run, and none leaves a mark.
        for command in app.get_system_commands(app.screen):
            if command.title != "Quit":
                command.callback()
                await pilot.pause()
    assert list(locked_services.marks.iterdir()) == []  # type: ignore[attr-defined]


async def test_the_picker_of_a_locked_session_keeps_to_its_root(locked_services: Services, tmp_path: Path) -> None:
    from textual.widgets import DirectoryTree, Static

    from staff_feed_tui.tui.app import make_app
    from staff_feed_tui.tui.screens.pickers import AttachPicker
    from staff_feed_tui.tui.widgets.attachment_tray import AttachmentTray
    from tests.test_tui import _ready, wait_for

    drop = locked_services.policy.attach.root
    assert drop == locked_services.settings.data_dir / "drop" / "alex"
    (drop / "rota.pdf").write_bytes(b"%PDF rota")
    outside = tmp_path / "payroll.csv"
    outside.write_text("salaries")
    (drop / "link").symlink_to(outside)
    app = make_app(locked_services, embedded_worker=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        await pilot.press("i", "x", "ctrl+o")
        picker = app.screen
        assert isinstance(picker, AttachPicker)
        tree = picker.query_one(DirectoryTree)
        assert Path(tree.path) == drop
        await wait_for(pilot, lambda: len(tree.root.children) == 1, "the tree listed")
        assert [str(node.label) for node in tree.root.children] == ["rota.pdf"]  # the link out is not shown
        field = picker.query_one("#path")
        error = picker.query_one("#picker-error", Static)
        for raw in ("../../payroll.csv", str(outside), "link", str(locked_services.db_path), "../../data/staff_feed.db",
                    "/etc/passwd", "~/.bashrc"):
            field.value = raw
            await pilot.press("enter")
            assert error.display, raw
            assert field.value == raw  # not taken
        field.value = "../"
        await pilot.press("tab")
        assert field.value == "../"  # nothing outside is completed
        field.value = "ro"
        await pilot.press("tab")
        assert field.value == "rota.pdf"
        await pilot.press("enter", "ctrl+s")
        tray = app.screen.query_one(AttachmentTray)
        assert [f.filename for f in tray.files] == ["rota.pdf"]


def test_no_terminal_no_app(tmp_path: Path) -> None:
    """`ssh host cmd </dev/null`, scp and sftp reach the app with no terminal: it says so and exits at once."""
    import subprocess

    exe = Path(sys.executable).parent / "staff-feed"
    env = {**os.environ, "STAFF_FEED_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([str(exe)], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=20)
    assert done.returncode == 1
    assert done.stderr == ("staff-feed: the app needs a terminal: connect with `ssh -t`, or run one of the commands "
                           "in --help\n")
    assert not (tmp_path / "data").exists()  # it left before opening anything
