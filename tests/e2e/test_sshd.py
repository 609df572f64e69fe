"""Many dispatchers on one host, through a real sshd: one service account, each dispatcher's key bound to their name
by `staff-feed dispatcher`, and no way out of the app.

The module starts one sshd (Debian's openssh-server) on a loopback port with its own config and host key, and makes
a service account for it (useradd), removed afterwards. It needs root; without root it is skipped, saying why.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.tmux import TmuxApp
from tests.smtp_server import free_port

# The service account runs the app with the system Python and this venv's packages (see _program): that needs the
# two to be one Python version, or the compiled packages (pydantic-core, …) cannot load.
_SAME_PYTHON = Path("/usr/bin/python3").resolve().name == f"python{sys.version_info.major}.{sys.version_info.minor}"

pytestmark = [
    pytest.mark.skipif(not _SAME_PYTHON, reason="the system Python (/usr/bin/python3) is another version than this "
                       "venv's, whose packages the service account's app uses"),
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="making a service account and running sshd need root"),
    pytest.mark.skipif(not Path("/usr/sbin/sshd").exists() or shutil.which("ssh") is None,
                       reason="openssh-server and openssh-client are not installed (.ci/run installs them)"),
]

ROSTER = "name,email,phone,accepts_texts,default_method\nDana Reyes,dana@example.com,,no,email\n"


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Host:
    account: str
    uid: int
    home: Path
    data: Path
    port: int
    keys: dict[str, Path]  # dispatcher name -> private key
    work: Path

    def ssh(self, who: str, *extra: str) -> list[str]:
        return ["ssh", "-i", str(self.keys[who]), "-p", str(self.port), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "LogLevel=ERROR", *extra, f"{self.account}@127.0.0.1"]

    @property
    def program(self) -> Path:
        return self.work / "bin" / "staff-feed"

    def as_account(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ["PATH"], "HOME": str(self.home), "LANG": "C.UTF-8"}
        return subprocess.run(["setpriv", f"--reuid={self.account}", f"--regid={self.account}", "--init-groups",
                               str(self.program), *args], capture_output=True, text=True, env=env, timeout=120,
                              check=True)

    def processes(self) -> list[str]:
        """The command lines of the service account's processes (sshd's session processes and the apps)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid != self.uid:
                    continue
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip())
            except OSError:
                continue
        return [line for line in found if line]

    def children_of_the_app(self, who: str) -> list[str]:
        """What the dispatcher's app process has started (an editor, a shell): the command lines of its children."""
        apps = [pid for pid in _pids_of(self.account) if _is_app(_cmdline(pid), who)]
        assert len(apps) == 1, [_cmdline(pid) for pid in _pids_of(self.account)]
        children = []
        for task in Path(f"/proc/{apps[0]}/task").iterdir():
            children += (task / "children").read_text().split()
        return [_cmdline(int(pid)) for pid in children]

    def none_left(self) -> None:
        wait_until(lambda: not self.processes(), f"the service account's processes to end: {self.processes()}")


def _pids_of(account: str) -> list[int]:
    try:
        uid = pwd.getpwnam(account).pw_uid
    except KeyError:
        return []
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _is_app(cmdline: str, who: str) -> bool:
    return "-m staff_feed_tui" in cmdline and cmdline.endswith(f"--as {who}")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _open_to_others(path: Path) -> None:
    """Let the service account reach this checkout and its packages (CI's venv sits in a 0700 temp dir): o+x on each
    folder above `path` that lacks it. Left so: several test processes may share these folders at once."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode & 0o7777
        if not mode & 0o001:
            folder.chmod(mode | 0o001)


def _program(work: Path) -> Path:
    """`staff-feed` for the service account: the system Python (this venv's may live where the account cannot
    reach, such as pyenv's under /root) with this venv's packages and this checkout."""
    packages = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    checkout = str(Path(__file__).resolve().parents[2])
    for path in [*packages, checkout]:
        _open_to_others(Path(path))
    program = work / "bin" / "staff-feed"
    program.parent.mkdir(mode=0o755)
    pythonpath = ":".join([checkout, *packages])
    program.write_text(f"#!/bin/sh\nPYTHONPATH={pythonpath} exec /usr/bin/python3 -m staff_feed_tui \"$@\"\n")
    program.chmod(0o755)
    return program


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    work = Path(tempfile.mkdtemp(prefix="staff-feed-sshd-", dir="/tmp"))
    account = f"sf{uuid.uuid4().hex[:8]}"
    home = work / "home"
    sshd = None
    try:
        work.chmod(0o755)
        subprocess.run(["useradd", "--system", "--create-home", "--home-dir", str(home), "--shell", "/bin/sh",
                        "--user-group", account], check=True, capture_output=True)
        subprocess.run(["usermod", "-p", "*", account], check=True, capture_output=True)  # no password, not locked
        uid = pwd.getpwnam(account).pw_uid
        _program(work)
        data = home / "data"
        config = home / ".config" / "staff-feed" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(f'data_dir = "{data}"\n[company]\nname = "Paws"\n[email]\ntransport = "file"\n'
                          '[sms]\ntransport = "file"\n[delivery]\nembedded_worker = false\n')
        (work / "roster.csv").write_text(ROSTER)
        (work / "roster.csv").chmod(0o644)
        subprocess.run(["chown", "-R", f"{account}:{account}", str(home)], check=True)
        keys = {}
        for name in ("ann", "bob"):
            keys[name] = work / f"{name}_key"
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys[name])], check=True)
            (work / f"{name}_key.pub").chmod(0o644)
        port = free_port()
        host = Host(account, uid, home, data, port, keys, work)
        host.as_account("staff", "import", str(work / "roster.csv"))
        for name in ("ann", "bob"):
            host.as_account("dispatcher", "--program", str(host.program), "add", name, "--ssh-key",
                            str(work / f"{name}_key.pub"))
        # sshd with its own host key and config; `restrict` in the key lines does the rest.
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / "host_key")], check=True)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        (work / "sshd_config").write_text(
            f"ListenAddress 127.0.0.1:{port}\nHostKey {work / 'host_key'}\nPidFile none\nUsePAM no\n"
            f"AllowUsers {account}\nAuthorizedKeysFile .ssh/authorized_keys\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nStrictModes yes\nPrintMotd no\n"
            "ClientAliveInterval 5\nClientAliveCountMax 2\nSubsystem sftp internal-sftp\nLogLevel VERBOSE\n"
        )
        sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(work / "sshd_config")],
                                stdout=subprocess.DEVNULL, stderr=open(work / "sshd.log", "wb"))  # noqa: SIM115

        def listening() -> bool:
            assert sshd.poll() is None, (work / "sshd.log").read_text()
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_until(listening, "sshd to listen")
        yield host
    finally:
        if sshd is not None:
            sshd.terminate()
            sshd.wait(10)
        for pid in _pids_of(account):  # the test's own account's processes, by id, if any were left
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        subprocess.run(["userdel", "--remove", account], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def _open_app(host: Host, who: str) -> TmuxApp:
    app = TmuxApp([*host.ssh(who, "-tt")], width=100, height=30, env={"TERM": "xterm-256color",
                                                                       "PATH": os.environ["PATH"]})
    app.wait_for(lambda s: f"dispatcher: {who}" in s and "Dana Reyes" in s, f"{who}'s app")
    return app


def test_each_key_opens_the_app_as_its_dispatcher_and_they_see_each_other(host: Host) -> None:
    ann, bob = _open_app(host, "ann"), _open_app(host, "bob")
    try:
        for app in (ann, bob):
            app.keys("Enter")  # open Dana's feed
            app.wait_for(lambda s: "Dana Reyes  ·" in s, "Dana's feed")
        ann.keys("i")
        ann.type("Gate code is 4417")
        ann.keys("Enter")
        bob.wait_for(lambda s: "Gate code is 4417" in s and "ann" in s, "ann's message in bob's app")
    finally:
        ann.close()
        bob.close()
    host.none_left()


def test_a_command_from_the_client_is_ignored_and_without_a_terminal_there_is_no_app(host: Host) -> None:
    marker = host.work / "shell-was-here"
    for extra in ([], ["-T"]):
        done = subprocess.run([*host.ssh("ann", *extra), f"touch {marker}; id"], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 1
        assert done.stdout == ""
        assert "staff-feed: the app needs a terminal: connect with `ssh -t`" in done.stderr
    done = subprocess.run([*host.ssh("ann"), "bash"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and "the app needs a terminal" in done.stderr
    assert not marker.exists()
    host.none_left()


def test_scp_and_sftp_are_refused(host: Host) -> None:
    options = ["-i", str(host.keys["ann"]), "-P", str(host.port), "-o", "StrictHostKeyChecking=no",
               "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
    target = host.work / "copied"
    for legacy in ([], ["-O"]):
        done = subprocess.run(["scp", *legacy, *options, f"{host.account}@127.0.0.1:.config/staff-feed/config.toml",
                               str(target)], capture_output=True, text=True, timeout=60)
        assert done.returncode != 0 and not target.exists()
    done = subprocess.run(["sftp", "-b", "-", *options, f"{host.account}@127.0.0.1"], input="ls\nget data/staff_feed.db\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert not Path("staff_feed.db").exists()
    host.none_left()


class Target:
    """A loopback TCP service that forwarding must never reach."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.reached = threading.Event()
        self.server.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.reached.set()
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()


def _through(port: int, payload: bytes) -> bytes:
    """Connect to the client's local forward, send, and read until it is closed."""
    deadline = time.monotonic() + 20
    while True:
        try:
            conn = socket.create_connection(("127.0.0.1", port), timeout=20)
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    received = b""
    with conn:
        try:
            conn.sendall(payload)
            while chunk := conn.recv(4096):
                received += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass  # closed with a reset rather than a FIN: closed unanswered all the same
    return received


def test_forwarding_is_refused(host: Host) -> None:
    target = Target()
    try:
        # -W (stdio forward) and -R: the client says the server refused.
        done = subprocess.run([*host.ssh("ann", "-W", f"127.0.0.1:{target.port}")], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 255 and "stdio forwarding failed" in done.stderr
        done = subprocess.run([*host.ssh("ann", "-N", "-o", "ExitOnForwardFailure=yes", "-R",
                                         f"127.0.0.1:{free_port()}:127.0.0.1:{target.port}")],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        assert done.returncode == 255 and "remote port forwarding failed" in done.stderr
        # -L and -D: the local end opens, and every connection through it is closed unanswered.
        local, socks = free_port(), free_port()
        for extra, payload in ((["-L", f"127.0.0.1:{local}:127.0.0.1:{target.port}"], b"GET / HTTP/1.0\r\n\r\n"),
                               (["-D", f"127.0.0.1:{socks}"],
                                b"\x05\x01\x00" + b"\x05\x01\x00\x01\x7f\x00\x00\x01" + target.port.to_bytes(2, "big"))):
            client = subprocess.Popen([*host.ssh("ann", "-N", *extra)], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                port = local if "-L" in extra else socks
                answer = _through(port, payload)
                if "-D" in extra:  # the SOCKS greeting's reply is the client's own; no CONNECT reply says success
                    assert answer[2:4] != b"\x05\x00", answer
                else:
                    assert answer == b""
            finally:
                client.kill()  # a client still in its handshake on a loaded machine can sit on SIGTERM
                client.wait(10)
        assert not target.reached.is_set()
    finally:
        target.close()
    host.none_left()


def test_a_locked_session_starts_no_program_and_its_picker_keeps_to_its_folder(host: Host) -> None:
    drop = host.data / "drop" / "ann"
    app = _open_app(host, "ann")
    try:
        assert drop.is_dir()  # made at start-up: the session is locked
        (drop / "rota.pdf").write_bytes(b"%PDF rota")
        (drop / "payroll-link").symlink_to(host.home / ".config" / "staff-feed" / "config.toml")
        subprocess.run(["chown", "-h", f"{host.account}:{host.account}", str(drop / "rota.pdf"),
                        str(drop / "payroll-link")], check=True)
        app.keys("Enter")
        app.wait_for(lambda s: "Dana Reyes  ·" in s, "Dana's feed")
        app.keys("i")
        app.type("draft")
        for key in ("C-e", "F4"):
            app.keys(key)
            app.wait_for(lambda s: "no external editor in this session" in s, f"the refusal after {key}")
            assert host.children_of_the_app("ann") == []
            app.keys("C-j")  # the composer changes, so the next refusal is a fresh one
        app.keys("C-k")
        app.type("screenshot")
        app.wait_for(lambda s: "No matches found" in s, "the palette without a screenshot")
        app.keys("Escape")
        app.wait_for(lambda s: "No matches found" not in s, "the palette closed")
        app.keys("C-o")
        app.wait_for(lambda s: "Attach files" in s and "rota.pdf" in s, "the picker")
        assert "payroll-link" not in app.screen()
        for path in ("../../.config/staff-feed/config.toml", "/etc/passwd", "payroll-link",
                     str(host.data / "staff_feed.db"), "../../data/staff_feed.db"):
            app.type(path)
            app.keys("Enter")
            app.wait_for(lambda s: "can be attached here" in s or "cannot be attached" in s, f"the refusal of {path}")
            app.keys("C-u")
        app.type("rota.pdf")
        app.keys("Enter")
        app.keys("C-s")
        app.wait_for(lambda s: "1. rota.pdf" in s, "rota.pdf in the tray")
    finally:
        app.close()
    host.none_left()


def test_killing_the_client_ends_the_app_within_two_seconds_and_keeps_the_draft(host: Host) -> None:
    app = _open_app(host, "bob")
    try:
        app.keys("Enter")
        app.wait_for(lambda s: "Dana Reyes  ·" in s, "Dana's feed")
        app.keys("i")
        app.type("half-written note")
        app.wait_for(lambda s: "half-written note" in s, "the draft on screen")
        pane = int(app._tmux("display", "-p", "-t", "app", "#{pane_pid}").strip())
        client = next(int(p) for p in Path(f"/proc/{pane}/task/{pane}/children").read_text().split())
        assert Path(f"/proc/{client}/cmdline").read_bytes().startswith(b"ssh\0")
        apps = [p for p in host.processes() if _is_app(p, "bob")]
        assert apps, host.processes()
        os.kill(client, 9)
        started = time.monotonic()
        wait_until(lambda: not [p for p in host.processes() if _is_app(p, "bob")], "the app to exit", 10)
        took = time.monotonic() - started
    finally:
        app.close()
    assert took < 2.0, f"the app took {took:.2f} s to exit after the client was killed"
    import sqlite3

    with sqlite3.connect(host.data / "staff_feed.db") as db:
        rows = db.execute("select body from draft join dispatcher on dispatcher.id = draft.dispatcher_id "
                          "where dispatcher.name = 'bob'").fetchall()
    assert rows == [("half-written note",)]
    host.none_left()
