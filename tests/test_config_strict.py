"""Configuration that cannot be wrong in silence: misplaced and unknown keys, the system-wide file, unreadable files,
secrets kept from a dispatcher's account, and `doctor` on the paths this account needs."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from staff_feed_tui import config as config_module
from staff_feed_tui.config import ConfigError, load_settings

EXE = str(Path(sys.executable).parent / "staff-feed")


def _toml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "sentence"), [
    ('[email]\nhost = "smtp.example.com"\ndata_dir = "/srv/staff-feed"\n',
     "line 3: unknown key 'data_dir' in [email]; it belongs at the top of the file, before any [section]"),
    ('[company]\nname = "Paws"\n\n[email]\nhots = "smtp.example.com"\n', "line 5: unknown key 'hots' in [email]"),
    ('host = "smtp.example.com"\n', ("line 1: unknown key 'host' at the top of the file; it belongs in [email], "
                                    "[gateway] or [inbound_email]")),
    ('[company]\nport = 587\n', ("line 2: unknown key 'port' in [company]; it belongs in [email], [gateway] or "
                                 "[inbound_email]")),
    ('[emial]\nhost = "x"\n', "line 1: unknown section [emial]"),
    ('[email]\nport = "five"\n', ("line 2: email.port is invalid: Input should be a valid integer, unable to parse "
                                 "string as an integer (got 'five')")),
    ('[tui]\nlocked = "maybe"\n', ("line 2: tui.locked is invalid: Input should be a valid boolean, unable to "
                                  "interpret input (got 'maybe')")),
    ('shared_group = "dispatch"\n[delivery]\nembedded_worker = false\nbackof_s = 3\n',
     "line 4: unknown key 'backof_s' in [delivery]"),
])
def test_a_misplaced_or_unknown_key_is_one_sentence_with_its_line(tmp_path: Path, text: str, sentence: str) -> None:
    config = _toml(tmp_path / "config.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert str(caught.value) == f"{config} {sentence}"


def test_an_unknown_key_from_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAFF_FEED_EMAIL__HOTS", "smtp.example.com")
    with pytest.raises(ConfigError, match=r"^STAFF_FEED_EMAIL__HOTS: unknown key 'hots' in \[email\]$"):
        load_settings()


def test_the_cli_says_it_in_one_line(tmp_path: Path) -> None:
    config = _toml(tmp_path / "config.toml", f'[email]\ndata_dir = "{tmp_path}"\n')
    done = subprocess.run([EXE, "--config", str(config), "staff", "list"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        (f"staff-feed: {config} line 2: unknown key 'data_dir' in [email]; it belongs at the top of the file, before"
        " any [section]")
    ]
    assert not (tmp_path / "staff_feed.db").exists()


def test_the_system_wide_file_is_searched_after_the_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = _toml(tmp_path / "etc-config.toml", '[company]\nname = "System"\n')
    monkeypatch.setattr(config_module, "SYSTEM_CONFIG_PATH", system)
    settings = load_settings()
    assert settings.company.name == "System" and settings.config_file == system
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "staff-feed" / "config.toml"
    user.parent.mkdir(parents=True)
    _toml(user, '[company]\nname = "User"\n')
    assert load_settings().company.name == "User"
    monkeypatch.setenv("STAFF_FEED_CONFIG", str(system))
    assert load_settings().company.name == "System"


def test_a_config_that_is_a_directory_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"^config file {tmp_path} is a directory$"):
        load_settings(tmp_path)


# ---- as an account that may not read: a forked child or a process that drops to `nobody` ------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another account needs root")


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder under /tmp that `nobody` can enter (pytest's own tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="staff-feed-access-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@functools.cache
def _nobody_cannot_run_this_install() -> str:
    """Why `nobody` cannot run this venv's staff-feed, or '' when it can: a venv or checkout under a private
    folder (a 0700 temp dir, /root) is out of its reach, and then these tests say so instead of failing."""
    probe = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-c",
                            "import staff_feed_tui.cli"], capture_output=True, text=True, timeout=60, check=False)
    return "" if probe.returncode == 0 else f"nobody cannot run this install: {probe.stderr.strip()[-200:]}"


def _as_nobody(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    if why := _nobody_cannot_run_this_install():
        pytest.skip(why)
    base = {"PATH": os.environ["PATH"], "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", EXE, *args],
                          capture_output=True, text=True, timeout=60, env={**base, **env})


@needs_root
def test_an_unreadable_config_is_one_sentence(shared_dir: Path) -> None:
    config = _toml(shared_dir / "config.toml", '[company]\nname = "Paws"\n')
    config.chmod(0o600)
    done = _as_nobody(["--config", str(config), "staff", "list"])
    assert done.returncode == 1
    assert done.stderr == f"staff-feed: cannot read the config file {config}: permission denied for this account\n"


@needs_root
def test_secrets_kept_from_this_account_leave_the_app_without_its_worker(shared_dir: Path) -> None:
    """The app starts; the worker and the gateway, which need the secrets, refuse in one sentence."""
    secret = shared_dir / "smtp-password"
    secret.write_text("hunter2\n")
    secret.chmod(0o600)
    data = shared_dir / "data"
    data.mkdir()
    os.chown(data, 65534, 65534)
    config = _toml(shared_dir / "config.toml", f'data_dir = "{data}"\n[email]\npassword_file = "{secret}"\n')
    config.chmod(0o644)
    done = _as_nobody(["--config", str(config), "worker", "--once"])
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"staff-feed: the worker cannot read email.password_file {secret} (permission denied): run it as the account "
        "that owns the secrets"
    )
    # The settings themselves load, with the secret left unset and noted (a forked child as `nobody`).
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(65534)
            os.setuid(65534)
            settings = load_settings(config)
            os.write(write_end, repr((settings.email.password, settings.unreadable_secrets)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end) as handle:
        assert handle.read() == repr((None, (f"email.password_file {secret}",)))


async def test_the_top_bar_says_delivery_is_by_the_service_worker(services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import Static

    from staff_feed_tui.tui.app import make_app
    from tests.test_tui import _ready, wait_for

    services.settings._unreadable_secrets = ("email.password_file /etc/staff-feed/secrets/smtp",)
    app = make_app(services, embedded_worker=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(pilot)
        state = app.screen.query_one("#worker-state", Static)
        await wait_for(pilot, lambda: str(state.render()) == "delivery by the service worker", "the top bar")
        assert app.outbox_worker is None


@needs_root
def test_doctor_reports_a_path_this_account_cannot_write(shared_dir: Path) -> None:
    data = shared_dir / "data"
    (data / "attachments").mkdir(parents=True)
    (data / "staff_feed.db").write_bytes(b"")
    for path in (data, data / "attachments"):
        path.chmod(0o2770)
        os.chown(path, 0, 0)
    os.chown(data, 0, 65534)  # the data dir's group is nogroup (nobody is in it); the database file is root's alone
    (data / "staff_feed.db").chmod(0o640)
    config = _toml(shared_dir / "config.toml", f'data_dir = "{data}"\n[email]\ntransport = "file"\n'
                                               '[sms]\ntransport = "file"\n')
    done = _as_nobody(["--config", str(config), "doctor"])
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ok    configuration    ")
    assert lines[1] == f"ok    data dir         {data} (root:nogroup 2770)"
    assert lines[2] == (f"FAIL  database         {data}/staff_feed.db (root:root 0640); nobody is not in group root: "
                        "nobody cannot read or write it, so the app cannot start")
    assert lines[3] == (f"FAIL  attachments      {data}/attachments (root:root 2770); nobody is not in group root: "
                        "nobody cannot read or write it, so files cannot be attached or sent")
    assert lines[4] == f"ok    outbox           {data}/outbox does not exist yet; nobody can create it"
    assert lines[5].startswith("FAIL  database         ")
    assert "Traceback" not in done.stdout + done.stderr
