"""A real Dovecot IMAP server for the mail-in tests, run in the foreground (`dovecot -F -c CONF`) and stopped by its
pid.

Its base, state and mail folders live under a directory whose parents are all 0755 (pytest's temp root is 0700, and
Dovecot's unprivileged login processes must reach the base folder). Mail belongs to `nobody` (Dovecot refuses to
run mail as uid 0), and users come from a passwd-file. Without the binary the tests skip, except in CI (`CI=true`),
where `.ci/run` installs it and a missing one fails.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.smtp_server import free_port

USER = "replies"
PASSWORD = "imap-test-password"


def require_dovecot() -> str:
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("dovecot is missing: .ci/run installs dovecot-imapd")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    if os.geteuid() != 0:
        pytest.skip("the Dovecot tests start the server as root (it drops to nobody for mail)")
    return binary


class Dovecot:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.base = Path(tempfile.mkdtemp(prefix="sfdc-", dir="/tmp"))
        self.base.chmod(0o755)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        nobody = pwd.getpwnam("nobody")
        self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        mail = self.base / "mail"
        mail.mkdir()
        os.chown(mail, self.uid, self.gid)
        for name in ("run", "state"):
            (self.base / name).mkdir(mode=0o755)
        (self.base / "users").write_text(
            f"{USER}:{{PLAIN}}{PASSWORD}:{self.uid}:{self.gid}::{mail / USER}::\n"
        )
        self.config = self.base / "dovecot.conf"
        self.config.write_text(f"""
base_dir = {self.base / "run"}
state_dir = {self.base / "state"}
log_path = {self.base / "dovecot.log"}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.base / "users"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.base / "users"}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
""")

    def start(self, timeout: float = 20.0) -> None:
        self.process = subprocess.Popen([self.binary, "-F", "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.process.stderr.read().decode(errors='replace')}"
                                   f"{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer on {self.port} within {timeout} s: {self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.base / "dovecot.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    # ---- as a mail client -----------------------------------------------------------------------------------------

    def client(self):  # type: ignore[no-untyped-def]
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def make_folder(self, folder: str) -> None:
        client = self.client()
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
        finally:
            client.logout()

    def deliver(self, raw: bytes, folder: str) -> None:
        """Put an email into `folder` (made when missing), as an MTA's delivery would: unseen."""
        client = self.client()
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw, flags=())
        finally:
            client.logout()

    def status(self, folder: str) -> dict[str, int]:
        client = self.client()
        try:
            if not client.folder_exists(folder):
                return {"messages": 0, "unseen": 0}
            found = client.folder_status(folder, [b"MESSAGES", b"UNSEEN"])
            return {"messages": found[b"MESSAGES"], "unseen": found[b"UNSEEN"]}
        finally:
            client.logout()
