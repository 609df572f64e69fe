"""The IMAP watcher against a real Dovecot: a reply arrives (caught up at start and by IDLE), is stored, and only
then flagged or moved; kill -9 between storing and flagging loses nothing and stores nothing twice; a server
restarted mid-IDLE is reconnected to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from staff_feed_tui.mail_in.imap import ImapWatcher
from staff_feed_tui.services import Services
from tests import mail_fixtures as fx
from tests.dovecot import PASSWORD, USER, Dovecot, require_dovecot
from tests.mail_setup import DOMAIN, SECRET, open_mail_services, received, token_for


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot(require_dovecot())
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def folder() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def inbound(dovecot: Dovecot, folder: str, **more: object) -> dict:
    return {"transport": "imap", "host": "127.0.0.1", "port": dovecot.port, "security": "none", "username": USER,
            "password": PASSWORD, "folder": folder, "timeout_s": 10, **more}


def wait_until(predicate: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Running:
    def __init__(self, watcher: ImapWatcher) -> None:
        self.watcher = watcher
        self.thread = threading.Thread(target=watcher.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.watcher.stop.set()
        self.thread.join(15)
        assert not self.thread.is_alive()


@pytest.fixture
def watch(tmp_path: Path, dovecot: Dovecot) -> Iterator[Callable[..., tuple[Services, Running]]]:
    started: list[tuple[Services, Running]] = []

    def start(folder: str, **more: object) -> tuple[Services, Running]:
        svc = open_mail_services(tmp_path / f"data{len(started)}", inbound(dovecot, folder, **more))
        running = Running(ImapWatcher(svc, svc.settings.inbound_email))
        started.append((svc, running))
        return svc, running

    yield start
    for svc, running in started:
        running.stop()
        svc.close()


def test_a_reply_through_imap_is_stored_then_flagged_seen_and_idle_brings_the_next(
    dovecot: Dovecot, folder: str, watch
) -> None:
    to = f"reply+1.x@{DOMAIN}"
    dovecot.deliver(fx.gmail_reply(to, message_id="<first@x>"), folder)  # waiting before mail-in starts
    svc, running = watch(folder)
    to = token_for(svc, "dana@example.com")
    wait_until(lambda: len(received(svc, "dana@example.com")) == 1, "the waiting reply (matched by From)")
    wait_until(lambda: dovecot.status(folder)["unseen"] == 0, "the reply flagged \\Seen")
    assert dovecot.status(folder)["messages"] == 1  # left in place
    wait_until(running.watcher.idling.is_set, "IDLE")
    dovecot.deliver(fx.outlook_reply(to, message_id="<second@x>"), folder)
    wait_until(lambda: len(received(svc, "dana@example.com")) == 2, "the reply reported by IDLE")
    assert [m.body for m in received(svc, "dana@example.com")] == ["Yes, I can take it.", "Sure, I will be there."]
    wait_until(lambda: dovecot.status(folder)["unseen"] == 0, "the second reply flagged")


def test_with_a_processed_folder_a_stored_reply_is_moved_there(dovecot: Dovecot, folder: str, watch) -> None:
    dovecot.deliver(fx.apple_reply("replies@paws.example"), folder)
    svc, _ = watch(folder, processed_folder=f"{folder}-done")
    wait_until(lambda: len(received(svc, "priya@example.com")) == 1, "the reply stored")
    wait_until(lambda: dovecot.status(folder)["messages"] == 0, "the reply moved out")
    assert dovecot.status(f"{folder}-done")["messages"] == 1


def test_kill_9_between_storing_and_flagging_loses_nothing_and_stores_nothing_twice(
    dovecot: Dovecot, folder: str, tmp_path: Path
) -> None:
    svc = open_mail_services(tmp_path / "data", inbound(dovecot, folder))
    config = tmp_path / "config.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[email]\ntransport = "file"\nreply_domain = "{DOMAIN}"\n'
        f'[gateway]\nmedia_secret = "{SECRET.decode()}"\n[inbound_email]\ntransport = "imap"\nhost = "127.0.0.1"\n'
        f'port = {dovecot.port}\nsecurity = "none"\nusername = "{USER}"\npassword = "{PASSWORD}"\n'
        f'folder = "{folder}"\n'
    )
    dovecot.deliver(fx.gmail_reply(token_for(svc, "sam@example.com")), folder)
    crashed = subprocess.run([sys.executable, "-m", "tests.mail_in_crash", str(config)], capture_output=True,
                             timeout=60, cwd=Path(__file__).parent.parent)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()[-2000:]
    assert len(received(svc, "sam@example.com")) == 1  # stored...
    assert dovecot.status(folder)["unseen"] == 1  # ...and not flagged: the crash came between
    exe = Path(sys.executable).parent / "staff-feed"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFF_FEED_")}
    service = subprocess.Popen([str(exe), "--config", str(config), "mail-in"], env=env, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: dovecot.status(folder)["unseen"] == 0, "the restarted mail-in to flag it")
    finally:
        service.send_signal(signal.SIGTERM)
        _, err = service.communicate(timeout=20)
    assert service.returncode == 0, err.decode()[-2000:]
    assert len(received(svc, "sam@example.com")) == 1  # found by its Message-ID: not stored twice
    assert b"already stored" in err
    svc.close()


def test_the_server_restarted_mid_idle_is_reconnected_to(dovecot: Dovecot, folder: str, watch) -> None:
    dovecot.make_folder(folder)
    svc, running = watch(folder)
    wait_until(running.watcher.idling.is_set, "IDLE")
    dovecot.restart()
    dovecot.deliver(fx.gmail_reply(token_for(svc, "dana@example.com"), message_id="<after-restart@x>"), folder)
    wait_until(lambda: len(received(svc, "dana@example.com")) == 1, "the reply after the restart", timeout=30)
    wait_until(lambda: dovecot.status(folder)["unseen"] == 0, "it flagged")
