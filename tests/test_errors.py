"""Every error is one sentence on stderr and a non-zero exit, never a traceback: a file that is not a database, a
URL that names no database staff-feed supports, a full disk, a roster field over the csv module's limit, and a
configuration mistake (without echoing a secret's value)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from staff_feed_tui.cli import main

REPO = Path(__file__).resolve().parent.parent


def _one_sentence(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("staff-feed: ") and "Traceback" not in err, err
    return lines[0]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """The exit code, and stderr (or, for `doctor`, which reports on stdout, both)."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err if "doctor" in argv else captured.err


@pytest.mark.parametrize("contents", [b"name,email\nDana,dana@example.com\n", b"\x00\xff" * 4000], ids=["csv", "binary"])
@pytest.mark.parametrize("command", [["staff", "list"], ["db", "upgrade"], ["worker", "--once"], ["doctor"]])
def test_db_pointing_at_a_file_that_is_not_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  contents: bytes, command: list[str]) -> None:
    target = tmp_path / "roster.csv"
    target.write_bytes(contents)
    code, err = _run(capsys, "--data-dir", str(tmp_path / "data"), "--db", f"sqlite:///{target}", *command)
    assert code == 1
    sentence = f"{target} is not a SQLite database file (check --db or database.url)"
    if command == ["doctor"]:  # after the lines on the paths this account needs, the database's line says it
        assert err.strip().splitlines()[-1] == f"FAIL  database         {sentence}" and "Traceback" not in err
    else:
        assert _one_sentence(err) == f"staff-feed: {sentence}"
    assert target.read_bytes() == contents  # nothing was written into it


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/srv/staff-feed/staff_feed.db", "is not a database URL: give sqlite:////path/to/staff_feed.db"),
        ("sqlite:/x.db", "is not a database URL"),
        # PostgreSQL with nothing listening (port 1 on loopback): the server named, its password masked.
        ("postgresql://dispatch:hunter2secret@127.0.0.1:1/feed",
         "cannot open the database postgresql+psycopg://dispatch:***@127.0.0.1:1/feed: connection failed"),
        ("postgres://127.0.0.1:1/feed", "cannot open the database postgresql+psycopg://127.0.0.1:1/feed"),
        ("mysql://db.example.com/feed", "names mysql, which staff-feed does not support"),
    ],
)
def test_a_database_url_staff_feed_cannot_open(tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str,
                                               words: str) -> None:
    code, err = _run(capsys, "--data-dir", str(tmp_path / "data"), "--db", url, "staff", "list")
    assert code == 1
    sentence = _one_sentence(err)
    assert words in sentence
    assert "hunter2secret" not in sentence


def test_the_app_itself_says_the_same_sentence(tmp_path: Path) -> None:
    """`staff-feed` with no command (the app) opens the database before any screen: the same one sentence."""
    exe = shutil.which("staff-feed") or str(Path(sys.executable).parent / "staff-feed")
    done = subprocess.run([exe, "--data-dir", str(tmp_path), "--db", "mysql://db.example.com/feed"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    assert "names mysql, which staff-feed does not support" in _one_sentence(done.stderr)


def test_a_roster_field_over_the_csv_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email,phone,accepts_texts,default_method\nDana Reyes,dana@example.com,,no,email\n"
                      + "x" * 200_000 + ",sam@example.com,,no,email\n")
    code, err = _run(capsys, "--data-dir", str(tmp_path / "data"), "staff", "import", str(roster))
    assert code == 1
    assert _one_sentence(err) == (
        f"staff-feed: {roster}: line 3: a field is longer than 131,072 characters, the most a roster field may hold; "
        "nothing was imported"
    )


@pytest.mark.parametrize(
    "config",
    [
        "[email]\npassword = 731953117\n",
        "[sms]\nauth_token = 731953117\n",
        "[gateway]\nmedia_secret = [731953117]\n",
        "[email]\npassword_file = 731953117\n",
        "email = { password = 731953117, port = 'abc' }\n",
    ],
)
def test_a_config_error_never_echoes_a_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(config)
    code, err = _run(capsys, "--config", str(path), "--data-dir", str(tmp_path / "data"), "staff", "list")
    assert code == 1
    sentence = _one_sentence(err)
    assert "731953117" not in sentence
    assert "is invalid" in sentence


def test_a_secret_from_the_environment_is_not_echoed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAFF_FEED_SMS", '{"auth_token": 731953117, "timeout_s": "soon"}')
    code, err = _run(capsys, "--data-dir", str(tmp_path / "data"), "staff", "list")
    assert code == 1
    sentence = _one_sentence(err)
    assert "731953117" not in sentence and "sms.timeout_s" in sentence and "'soon'" in sentence


def _private_tmpfs_refusal(directory: Path) -> str | None:
    """Why a 1 MB tmpfs cannot be mounted in a private mount namespace here, or None when it can."""
    if shutil.which("unshare") is None:
        return "the unshare command is not installed"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$1"', "sh", str(directory)],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"a tmpfs cannot be mounted in a private mount namespace here: {probe.stderr.strip()}"
    return None


# Seven real commands one after another, one of them importing 20,000 rows into a full disk: about 40 s alone.
@pytest.mark.timeout(600)
def test_a_full_disk_on_import_send_and_worker(tmp_path: Path) -> None:
    mount = tmp_path / "mnt"
    mount.mkdir()
    refusal = _private_tmpfs_refusal(mount)
    if refusal:
        pytest.skip(refusal)
    script = 'mount -t tmpfs -o size=1m tmpfs "$1" && exec "$2" -m tests.full_disk "$1"'
    done = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", str(mount), sys.executable],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results["setup"]["rc"] == 0 and results["queued"]["rc"] == 0

    database = mount / "data" / "staff_feed.db"
    worker = results["worker"]
    assert worker["rc"] == 1 and results["worker_received"] == 1
    assert "Traceback" not in worker["err"]
    assert worker["err"].strip().splitlines()[-1] == (
        f"staff-feed: the disk holding the database {database} is full; the results of the sends just made were not "
        "recorded, so those go out again when their lease ends (free some space and try again)"
    )
    assert results["worker_status"] != [["failed"]]  # not marked failed: it stays to be tried again

    assert _one_sentence(results["send_attachment"]["err"]) == (
        f"staff-feed: the disk holding the attachments {mount / 'data' / 'attachments'} is full; rota.pdf could not "
        "be stored, so nothing was saved (free some space and try again)"
    )
    assert results["messages_after_send"] == 1

    assert results["send_full"]["rc"] == 1
    assert "is full" in _one_sentence(results["send_full"]["err"])
    assert results["messages_after_full_send"] == 1

    assert _one_sentence(results["import"]["err"]) == (
        f"staff-feed: the disk holding the database {database} is full; nothing was saved (free some space and try "
        "again)"
    )
    assert results["staff_after_import"] == 1
