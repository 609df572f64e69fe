from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from staff_feed_tui.cli import main
from staff_feed_tui.store.migrations import HEAD

ROSTER = """name,email,phone,accepts_texts,default_method
Dana Reyes,dana@example.com,+1 415 555 0101,yes,both
Priya Natarajan,priya@example.com,,no,email
Dana Smith,dana.smith@example.com,,no,email
"""


@pytest.fixture
def cli(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("STAFF_FEED_COMPANY__TEXT_MESSAGING", "true")
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    assert main(["--data-dir", str(data_dir), "staff", "import", str(roster)]) == 0
    capsys.readouterr()

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(data_dir), "--as", "alex", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _counts(data_dir: Path) -> tuple[int, int, int]:
    with sqlite3.connect(data_dir / "staff_feed.db") as conn:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("message", "attachment", "delivery"))  # type: ignore[return-value]


def test_send_then_feed_json(cli, tmp_path: Path, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + os.urandom(2000))
    code, out, err = cli("send", "--staff", "priya@example.com", "--body", "Key is under the mat.", "--attach", str(photo))
    assert (code, err) == (0, "")
    message_id = int(out.strip())

    code, out, _ = cli("feed", "Priya", "--json")
    assert code == 0
    feed = json.loads(out)
    assert len(feed) == 1
    message = feed[0]
    assert message["id"] == message_id
    assert message["direction"] == "out"
    assert message["author"] == "alex"
    assert message["body"] == "Key is under the mat."
    assert message["deleted_at"] is None
    assert message["created_at"].endswith("+00:00")
    assert message["attachments"] == [
        {
            "filename": "photo.jpg",
            "mime_type": "image/jpeg",
            "size": photo.stat().st_size,
            "sha256": hashlib.sha256(photo.read_bytes()).hexdigest(),
        }
    ]
    assert message["deliveries"] == [
        {"channel": "email", "status": "queued", "attempts": 0, "last_error": None, "provider_id": None}
    ]
    # The stored copy is independent of the original.
    stored = data_dir / "attachments" / message["attachments"][0]["sha256"][:2] / message["attachments"][0]["sha256"]
    photo.unlink()
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == message["attachments"][0]["sha256"]


def test_feed_is_oldest_first_across_pages(cli) -> None:  # type: ignore[no-untyped-def]
    ids = [int(cli("send", "--staff", "1", "--body", f"message {n}")[1]) for n in range(3)]
    _, out, _ = cli("feed", "1", "--json")
    assert [m["id"] for m in json.loads(out)] == ids


def test_send_both_creates_one_delivery_per_channel(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("send", "--staff", "Dana Reyes", "--body", "hello", "--via", "both")
    assert code == 0
    _, out, _ = cli("feed", "Dana Reyes", "--json")
    assert [d["channel"] for d in json.loads(out)[0]["deliveries"]] == ["email", "sms"]


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["--staff", "nobody@example.com", "--body", "hi"], "no staff member matches 'nobody@example.com'"),
        (["--staff", "99", "--body", "hi"], "no staff member has id 99"),
        (["--staff", "dana", "--body", "hi"], "2 staff members match 'dana' (Dana Reyes, Dana Smith); give the email or id"),
        (["--staff", "priya@example.com", "--body", "   \n "], "message is empty: write something or attach a file"),
        (["--staff", "priya@example.com", "--body", "hi", "--attach", "/no/such/file.pdf"], "attachment not found: /no/such/file.pdf"),
        (["--staff", "priya@example.com", "--body", "hi", "--via", "sms"], "cannot send by SMS: Priya has no mobile number"),
    ],
)
def test_send_errors_are_one_sentence_and_store_nothing(cli, data_dir: Path, args: list[str], sentence: str) -> None:  # type: ignore[no-untyped-def]
    before = _counts(data_dir)
    code, out, err = cli("send", *args)
    assert code == 1
    assert out == ""
    assert err == f"staff-feed: {sentence}\n"
    assert _counts(data_dir) == before


def test_attachment_checks(cli, tmp_path: Path, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    code, _, err = cli("send", "--staff", "2", "--body", "x", "--attach", str(empty))
    assert code == 1 and err == f"staff-feed: attachment is empty: {empty}\n"
    code, _, err = cli("send", "--staff", "2", "--body", "x", "--attach", str(tmp_path))
    assert code == 1 and err == f"staff-feed: attachment is a directory, not a file: {tmp_path}\n"
    note = tmp_path / "note.txt"
    note.write_text("hello")
    code, _, err = cli("send", "--staff", "2", "--body", "x", "--attach", str(note), "--attach", str(note))
    assert code == 1 and err == "staff-feed: attachment is already attached: note.txt\n"
    assert _counts(data_dir) == (0, 0, 0)


def test_sms_refused_when_company_texting_is_off(cli, monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("STAFF_FEED_COMPANY__TEXT_MESSAGING", "false")
    code, _, err = cli("send", "--staff", "Dana Reyes", "--body", "hi", "--via", "both")
    assert code == 1 and err == "staff-feed: cannot send by SMS: texting is off for the company\n"
    assert _counts(data_dir) == (0, 0, 0)


def test_feed_unknown_staff(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("feed", "zed", "--json")
    assert (code, out) == (1, "")
    assert err == "staff-feed: no staff member matches 'zed'\n"


def test_db_upgrade(cli, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("db", "upgrade")
    assert code == 0 and f"revision {HEAD} (head)" in out


def test_database_locked_by_another_process(cli, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """A writer holding the lock past the busy timeout: a sentence, exit 1, nothing half-written."""
    from staff_feed_tui.store import db

    holder = sqlite3.connect(data_dir / "staff_feed.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    old = db.BUSY_TIMEOUT_MS
    db.BUSY_TIMEOUT_MS = 100
    try:
        code, _, err = cli("send", "--staff", "2", "--body", "hello")
    finally:
        db.BUSY_TIMEOUT_MS = old
        holder.rollback()
        holder.close()
    assert code == 1
    assert err.startswith("staff-feed: the database is busy") and "nothing was saved" in err
    assert _counts(data_dir) == (0, 0, 0)


def test_real_command_send_and_feed(tmp_path: Path) -> None:
    """The installed `staff-feed` console script, as an operator runs it."""
    exe = shutil.which("staff-feed") or str(Path(sys.executable).parent / "staff-feed")
    env = {**os.environ, "STAFF_FEED_DATA_DIR": str(tmp_path / "d")}
    roster = tmp_path / "r.csv"
    roster.write_text(ROSTER)
    subprocess.run([exe, "staff", "import", str(roster)], env=env, check=True, capture_output=True, text=True)
    sent = subprocess.run(
        [exe, "send", "--staff", "priya@example.com", "--body", "[bold red]x[/] \x1b[31m"],
        env=env, capture_output=True, text=True,
    )
    assert sent.returncode == 0, sent.stderr
    feed = subprocess.run([exe, "feed", "priya@example.com", "--json"], env=env, capture_output=True, text=True)
    assert json.loads(feed.stdout)[0]["body"] == "[bold red]x[/] \x1b[31m"  # stored verbatim
    bad = subprocess.run([exe, "send", "--staff", "nobody", "--body", "x"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr == "staff-feed: no staff member matches 'nobody'\n"


UNSAFE_FOR_JSON = "a\x85b\x9b31mc\u202ed\u2066e\u2028f\x7fg é"


def test_json_output_escapes_c1_controls_and_bidi_and_parses_back_to_what_was_stored(
    cli, data_dir: Path  # type: ignore[no-untyped-def]
) -> None:
    code, out, err = cli("send", "--staff", "priya@example.com", "--body", "placeholder")
    assert (code, err) == (0, "")
    with sqlite3.connect(data_dir / "staff_feed.db") as conn:
        conn.execute("UPDATE message SET body = ?", (UNSAFE_FOR_JSON,))
        conn.execute("UPDATE dispatcher SET name = ?", ("alex\x9d",))
        conn.execute("UPDATE staff SET name = ? WHERE email = 'priya@example.com'", ("Priya" + UNSAFE_FOR_JSON,))
    for args, pick in (
        (("feed", "priya@example.com", "--json"), lambda data: (data[0]["body"], data[0]["author"])),
        (("staff", "list", "--json"), lambda data: next(s["name"] for s in data if s["email"] == "priya@example.com")),
    ):
        code, out, _ = cli(*args)
        assert code == 0
        raw = out.encode("utf-8")
        # No C1 control (UTF-8 \xc2\x80-\xc2\x9f) and no bidi or separator character goes out as itself.
        assert not any(bytes([0xC2, c]) in raw for c in range(0x80, 0xA0))
        assert not any(ch in out for ch in "\x7f\u202e\u2066\u2028")
        assert "\\u009b" in out and "\\u202e" in out and "é" in out
        parsed = pick(json.loads(out))
        assert parsed in ((UNSAFE_FOR_JSON, "alex\x9d"), "Priya" + UNSAFE_FOR_JSON)
