"""Dispatcher accounts: names, keys, the managed block of authorized_keys, `--as`, and the CLI commands."""

from __future__ import annotations

import base64
import os
import shutil
import stat
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staff_feed_tui.cli import main
from staff_feed_tui.config import Settings
from staff_feed_tui.core.accounts import (
    BEGIN_MARK,
    END_MARK,
    AccountError,
    check_account_name,
    check_acting_as,
    key_line,
    parse_public_key,
    splice_managed_block,
)
from staff_feed_tui.services import open_services


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "laptop", "-f", str(path)], check=True)
    return path.with_suffix(".pub")


needs_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen (openssh-client) is missing")


@pytest.mark.parametrize("name", ["ann", "bob.smith", "x_1-2", "a" * 32, "0"])
def test_good_names(name: str) -> None:
    assert check_account_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "-rf", "Ann", "a" * 33, "ann smith", "ann/..", "ann\n", "ánn",
                                  "ann\x1b[2J"])
def test_bad_names_are_one_sentence(name: str) -> None:
    with pytest.raises(AccountError, match=r"^dispatcher name '.*' is not valid: use 1 to 32 of") as caught:
        check_account_name(name)
    assert "\x1b" not in str(caught.value) and "\n" not in str(caught.value)


@needs_keygen
def test_the_fingerprint_is_ssh_keygens(tmp_path: Path) -> None:
    public = _keygen(tmp_path / "k")
    key = parse_public_key(public.read_text())
    listed = subprocess.run(["ssh-keygen", "-lf", str(public)], capture_output=True, text=True, check=True).stdout
    assert listed.split()[1] == key.fingerprint


def _blob(kind: str) -> str:
    name = kind.encode()
    return base64.b64encode(struct.pack(">I", len(name)) + name + b"\0" * 36).decode()


@pytest.mark.parametrize(("text", "message"), [
    ("", "holds one key on one line; this one has 0 lines"),
    (f"ssh-ed25519 {_blob('ssh-ed25519')} a\nssh-ed25519 {_blob('ssh-ed25519')} b\n", "this one has 2 lines"),
    (f'command="/bin/sh" ssh-ed25519 {_blob("ssh-ed25519")}', "not an OpenSSH public key: it starts with 'command="),
    (f"ssh-dss {_blob('ssh-dss')}", "not an OpenSSH public key"),
    ("ssh-ed25519 not!base64", "the ssh-ed25519 key is damaged"),
    (f"ssh-ed25519 {_blob('ssh-rsa')}", "the key says it is ssh-ed25519 but its body is a ssh-rsa key"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n", "this one has 3 lines"),
])
def test_a_bad_key_file_is_one_sentence(text: str, message: str) -> None:
    with pytest.raises(AccountError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_public_key(text)


def test_the_key_line_binds_the_key_to_the_name_and_drops_the_comment() -> None:
    key = parse_public_key(f'ssh-ed25519 {_blob("ssh-ed25519")} evil",command="/bin/sh')
    line = key_line("/opt/staff-feed/bin/staff-feed", "ann", key, "/etc/staff-feed/config.toml")
    assert line == (f'command="/opt/staff-feed/bin/staff-feed --config /etc/staff-feed/config.toml --as ann",restrict,'
                    f"pty ssh-ed25519 {key.blob} staff-feed:ann")
    with pytest.raises(AccountError, match="cannot go into a forced command"):
        key_line('/opt/my "app"/staff-feed', "ann", key)


_outside = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x0b\x0c"
                                                   "\x1c\x1d\x1e\x85\u2028\u2029"), max_size=30), max_size=6)


@given(before=_outside, after=_outside, first=st.lists(st.text("abc", min_size=1), max_size=3),
       second=st.lists(st.text("xyz", min_size=1), max_size=3))
@settings(max_examples=200, deadline=None)
def test_every_line_outside_the_marks_is_kept(before: list[str], after: list[str], first: list[str],
                                              second: list[str]) -> None:
    before = [line for line in before if line not in (BEGIN_MARK, END_MARK)]
    after = [line for line in after if line not in (BEGIN_MARK, END_MARK)]
    once = splice_managed_block("\n".join(before) + ("\n" if before else ""), first)
    twice = splice_managed_block(once + "\n".join(after) + ("\n" if after else ""), second)
    assert twice.splitlines() == [*before, BEGIN_MARK, *second, END_MARK, *after]


def test_acting_as_someone_else() -> None:
    check_acting_as(None, os_user="ann", euid=1001, data_owner=999)
    check_acting_as("ann", os_user="ann", euid=1001, data_owner=999)
    check_acting_as("bob", os_user="root", euid=0, data_owner=999)
    check_acting_as("bob", os_user="staff-feed", euid=999, data_owner=999)  # the service account's forced command
    with pytest.raises(AccountError, match="^--as 'bob' is refused: ann may act only as ann"):
        check_acting_as("bob", os_user="ann", euid=1001, data_owner=999)


@needs_keygen
def test_the_commands_write_authorized_keys_atomically_and_keep_the_rest(tmp_path: Path, settings: Settings,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    ann_key, bob_key = _keygen(tmp_path / "ann"), _keygen(tmp_path / "bob")
    keys = tmp_path / "ssh" / "authorized_keys"
    keys.parent.mkdir()
    keys.write_text("ssh-ed25519 AAAAadmin admin@host\n")
    base = ["--data-dir", str(settings.data_dir), "dispatcher", "--authorized-keys", str(keys)]
    assert main([*base, "add", "ann", "--ssh-key", str(ann_key)]) == 0
    assert main([*base, "add", "bob"]) == 0
    assert main([*base, "key", "add", "bob", str(bob_key)]) == 0
    assert main([*base, "key", "add", "ann", str(bob_key)]) == 1  # one key, one dispatcher
    assert "is bob's: one key is one dispatcher" in capsys.readouterr().err
    lines = keys.read_text().splitlines()
    assert lines[0] == "ssh-ed25519 AAAAadmin admin@host"
    assert lines[1] == BEGIN_MARK and lines[-1] == END_MARK
    assert [line.split(",")[0] for line in lines[2:-1]] == [
        f'command="{Path(sys.executable).parent / "staff-feed"} --as ann"',
        f'command="{Path(sys.executable).parent / "staff-feed"} --as bob"',
    ]
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    assert [p.name for p in keys.parent.iterdir()] == ["authorized_keys"]  # no temporary file left
    fingerprint = parse_public_key(bob_key.read_text()).fingerprint
    assert main([*base, "key", "remove", "bob", fingerprint]) == 0
    assert main([*base, "disable", "ann"]) == 0
    assert keys.read_text().splitlines() == ["ssh-ed25519 AAAAadmin admin@host", BEGIN_MARK, END_MARK]
    capsys.readouterr()
    assert main([*base, "list"]) == 0
    assert capsys.readouterr().out.split() == ["ann", "disabled", "bob", "0", "key(s)"]
    # A disabled dispatcher's name is refused by the app and every command.
    assert main(["--data-dir", str(settings.data_dir), "--as", "ann", "staff", "list"]) == 1
    assert capsys.readouterr().err == "staff-feed: dispatcher 'ann' is disabled\n"
    with pytest.raises(AccountError, match="is disabled"):
        open_services(settings, dispatcher="ann")
    # Enabled again, with no keys until one is added.
    assert main([*base, "add", "ann"]) == 0
    open_services(settings, dispatcher="ann").close()


def test_acting_as_another_dispatcher_is_refused_for_an_os_account(tmp_path: Path) -> None:
    """Shared-group mode: the dispatcher is the OS user; `--as` naming someone else is refused (a real process
    that drops to `nobody`, against a data dir that `nobody` owns is allowed, one root owns is not)."""
    if os.geteuid() != 0:
        pytest.skip("dropping to another account needs root")
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="staff-feed-as-", dir="/tmp"))
    try:
        shared.chmod(0o755)
        data = shared / "data"
        data.mkdir(mode=0o777)
        data.chmod(0o777)
        exe = str(Path(sys.executable).parent / "staff-feed")
        probe = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable,
                                "-c", "import staff_feed_tui.cli"], capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:  # a venv or checkout under a private folder (pyenv's Python under /root)
            pytest.skip(f"nobody cannot run this install: {probe.stderr.strip()[-200:]}")
        env = {"PATH": os.environ["PATH"], "HOME": "/nonexistent", "STAFF_FEED_DATA_DIR": str(data)}
        done = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", exe, "--as", "ann",
                               "staff", "list"], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 1
        assert done.stderr == ("staff-feed: --as 'ann' is refused: nobody may act only as nobody (only root or the "
                               "account that owns the data dir may act as another dispatcher)\n")
    finally:
        shutil.rmtree(shared, ignore_errors=True)
