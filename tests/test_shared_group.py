"""Several OS accounts sharing one data dir through `shared_group` (README, "Dispatchers over SSH"): two dispatchers'
accounts attach files to one store, and a worker running as one of them sends the other's files.

Run as root with two more real users (`nobody`, `daemon`) and a group made for the test, under a directory whose
parents are 0755. Each command runs in a forked child that has dropped to that user's uid, gid and groups: the
interpreter here lives under a directory only root may enter, so it cannot be started as another user, and the
child has what it imports loaded already (a warm-up run as root does each command once first).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from staff_feed_tui.cli import main

USERS = ("nobody", "daemon")
ROSTER = "name,email,phone,accepts_texts,default_method\nDana Reyes,dana@example.com,,no,email\n"


def _refusal() -> str | None:
    if os.geteuid() != 0:
        return "needs root: it adds a group and runs commands as other users"
    if shutil.which("groupadd") is None or shutil.which("gpasswd") is None:
        return "groupadd and gpasswd are not installed"
    for user in USERS:
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"there is no user {user!r} on this host"
    return None


pytestmark = pytest.mark.skipif(_refusal() is not None, reason=_refusal() or "")


@pytest.fixture
def group() -> Iterator[str]:
    name = f"sfshare{uuid.uuid4().hex[:6]}"
    subprocess.run(["groupadd", name], check=True, capture_output=True)
    try:
        for user in USERS:
            subprocess.run(["gpasswd", "-a", user, name], check=True, capture_output=True)
        yield name
    finally:
        subprocess.run(["groupdel", name], capture_output=True)


@pytest.fixture
def base() -> Iterator[Path]:
    """A directory under /tmp whose parents are 0755 (pytest's own temp root is 0700: no other user may enter)."""
    path = Path(tempfile.mkdtemp(prefix="staff-feed-shared-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _as(user: str, argv: list[str], logs: Path) -> tuple[int, str, str]:
    """`staff-feed ARGV` as `user`: its uid, its primary group and its groups (read from /etc/group)."""
    account = pwd.getpwnam(user)
    out_path, err_path = logs / f"{uuid.uuid4().hex}.out", logs / f"{uuid.uuid4().hex}.err"
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: drop to the user, run the command, leave without running the parent's clean-up
        code = 99
        with open(out_path, "w") as out, open(err_path, "w") as err:
            try:
                os.setgroups(os.getgrouplist(user, account.pw_gid))
                os.setgid(account.pw_gid)
                os.setuid(account.pw_uid)
                os.umask(0o022)
                sys.stdout, sys.stderr = out, err
                code = main(argv)
            except BaseException:  # noqa: BLE001 - the parent reads it as a failure with its traceback
                traceback.print_exc(file=err)
            finally:
                out.flush()
                err.flush()
                os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out_path.read_text(), err_path.read_text()


def _files(base: Path) -> dict[str, Path]:
    files = {"roster": base / "roster.csv", "rota": base / "rota.pdf", "photo": base / "photo.jpg"}
    files["roster"].write_text(ROSTER)
    files["rota"].write_bytes(b"%PDF-1.4 rota " + os.urandom(3000))
    files["photo"].write_bytes(b"\xff\xd8\xff photo " + os.urandom(3000))
    for path in files.values():
        path.chmod(0o644)
    return files


def _commands(config: Path, files: dict[str, Path]) -> list[tuple[str, list[str]]]:
    cfg = ["--config", str(config)]
    return [
        ("nobody", [*cfg, "--as", "nobody", "staff", "import", str(files["roster"])]),
        ("nobody", [*cfg, "--as", "nobody", "send", "--staff", "dana@example.com", "--body", "from nobody",
                    "--attach", str(files["rota"])]),
        ("daemon", [*cfg, "--as", "daemon", "send", "--staff", "dana@example.com", "--body", "from daemon",
                    "--attach", str(files["photo"]), "--attach", str(files["rota"])]),
        ("daemon", [*cfg, "--as", "daemon", "worker", "--once"]),
        ("nobody", [*cfg, "--as", "nobody", "feed", "dana@example.com", "--json"]),
    ]


def _config(path: Path, data_dir: Path, group: str | None) -> Path:
    shared = f'shared_group = "{group}"\n' if group else ""
    path.write_text(f'data_dir = "{data_dir}"\n{shared}[email]\ntransport = "file"\n[sms]\ntransport = "file"\n')
    path.chmod(0o644)
    return path


# Ten commands (five as root to load what they import, five as the two users): about 20 s alone.
@pytest.mark.timeout(300)
def test_two_accounts_share_the_attachment_store_and_a_worker_sends_both(
    base: Path, group: str, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _files(base)
    # The warm-up, as root on a store of its own: everything the commands import lazily is loaded before the fork.
    warm = base / "warm-up"
    for _, argv in _commands(_config(base / "warm.toml", warm / "data", None), files):
        assert main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()

    # As the README sets it up: `install -d -m 2770 -g dispatch /srv/staff-feed`.
    gid = grp.getgrnam(group).gr_gid
    data_dir = base / "data"
    data_dir.mkdir()
    os.chown(data_dir, 0, gid)
    data_dir.chmod(0o2770)
    config = _config(base / "config.toml", data_dir, group)
    logs = base / "logs"
    logs.mkdir(mode=0o777)
    logs.chmod(0o777)

    outputs = []
    for user, argv in _commands(config, files):
        code, out, err = _as(user, argv, logs)
        assert code == 0, f"{user}: staff-feed {' '.join(argv[2:])} exited {code}:\n{err}"
        outputs.append(out)
    assert outputs[3].strip() == "handled 2 deliveries (2 sent, 0 to retry, 0 failed)"

    store = data_dir / "attachments"
    modes = {p.relative_to(data_dir): (stat.S_IMODE(p.stat().st_mode), p.stat().st_gid)
             for p in [store, *store.rglob("*")]}
    assert modes and all(gid_ == gid for _, gid_ in modes.values()), modes
    assert all(mode == (0o2770 if (data_dir / p).is_dir() else 0o660) for p, (mode, _) in modes.items()), modes
    owners = {pwd.getpwuid(p.stat().st_uid).pw_name for p in store.rglob("*") if p.is_file()}
    assert owners == {"nobody", "daemon"}  # each account stored a file, and the other's worker read it

    emails = [p.read_text() for p in (data_dir / "outbox" / "email").glob("*.eml")]
    assert len(emails) == 2
    assert sum('filename="rota.pdf"' in e for e in emails) == 2 and sum('filename="photo.jpg"' in e for e in emails) == 1
