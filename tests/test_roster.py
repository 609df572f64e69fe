from __future__ import annotations

import json
from pathlib import Path

import pytest

from staff_feed_tui.cli import main
from staff_feed_tui.core.roster import RosterError, parse_roster
from staff_feed_tui.core.types import DeliveryMethod

GOOD = """name,email,phone,accepts_texts,default_method
Dana Reyes,Dana.Reyes@Example.com,(415) 555-0101,yes,both
Lena Fischer,lena@example.com,,no,email
"""

BAD = """name,email,phone,accepts_texts,default_method
Dana Reyes,dana@example.com,+1 415 555 0101,yes,sms
No Email,,+1 415 555 0102,yes,email
Bad Phone,bad.phone@example.com,12,yes,email
Bad Flag,flag@example.com,,maybe,email
Bad Method,method@example.com,,no,pigeon
Texts Without Phone,nophone@example.com,,no,sms
Twice,dana@example.com,,no,email
Sam Okafor,sam@example.com,+1 415 555 0103,yes,email
"""


def test_parse_normalises_email_and_phone() -> None:
    rows, errors = parse_roster(GOOD)
    assert errors == []
    (line1, dana), (line2, lena) = rows
    assert (line1, line2) == (2, 3)
    assert dana.email == "Dana.Reyes@example.com"  # domain lower-cased by email-validator
    assert dana.phone == "+14155550101"
    assert dana.accepts_texts and dana.default_method is DeliveryMethod.BOTH
    assert lena.phone is None and not lena.accepts_texts


def test_every_bad_row_is_reported_with_its_line_and_reason() -> None:
    rows, errors = parse_roster(BAD)
    assert [line for line, _ in rows] == [2, 9]
    reasons = {e.line: e.reason for e in errors}
    assert set(reasons) == {3, 4, 5, 6, 7, 8}
    assert "email is missing" in reasons[3]
    assert "phone '12'" in reasons[4]
    assert "accepts_texts must be yes or no" in reasons[5]
    assert "default_method must be email, sms or both" in reasons[6]
    assert "needs a phone number" in reasons[7]
    assert "already appears on line 2" in reasons[8]


def test_phone_region_is_configurable() -> None:
    text = "name,email,phone,accepts_texts,default_method\nAnn,ann@example.com,07700 900123,yes,sms\n"
    assert parse_roster(text, region="US")[1]  # not a US number
    rows, errors = parse_roster(text.replace("07700 900123", "020 7946 0018"), region="GB")
    assert errors == [] and rows[0][1].phone == "+442079460018"


def test_header_problems() -> None:
    with pytest.raises(RosterError, match="empty"):
        parse_roster("")
    with pytest.raises(RosterError, match="lacks the column"):
        parse_roster("name,phone\nDana,+14155550101\n")


def _staff_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    assert main(["--data-dir", str(data_dir), "staff", "list", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_import_is_all_or_nothing(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roster = tmp_path / "bad.csv"
    roster.write_text(BAD)
    assert main(["--data-dir", str(data_dir), "staff", "import", str(roster)]) == 1
    err = capsys.readouterr().err
    assert "line 4: phone '12'" in err
    assert "6 invalid row(s)" in err and "nothing was imported" in err
    assert _staff_json(data_dir, capsys) == []


def test_import_skip_invalid_imports_the_rest(tmp_path: Path, data_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    roster = tmp_path / "bad.csv"
    roster.write_text(BAD)
    assert main(["--data-dir", str(data_dir), "staff", "import", str(roster), "--skip-invalid"]) == 0
    captured = capsys.readouterr()
    assert "imported 2 staff (2 new, 0 updated), skipped 6 invalid row(s)" in captured.out
    assert "line 8:" in captured.err
    staff = _staff_json(data_dir, capsys)
    assert [s["name"] for s in staff] == ["Dana Reyes", "Sam Okafor"]
    assert staff[0] == {
        "id": staff[0]["id"],
        "name": "Dana Reyes",
        "email": "dana@example.com",
        "phone": "+14155550101",
        "accepts_texts": True,
        "sms_opted_out": False,
        "default_method": "sms",
    }


def test_reimport_updates_by_email(tmp_path: Path, data_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    roster = tmp_path / "good.csv"
    roster.write_text(GOOD)
    assert main(["--data-dir", str(data_dir), "staff", "import", str(roster)]) == 0
    roster.write_text(GOOD.replace("Lena Fischer", "Lena Fischer-Braun"))
    assert main(["--data-dir", str(data_dir), "staff", "import", str(roster)]) == 0
    assert "(0 new, 2 updated)" in capsys.readouterr().out
    assert [s["name"] for s in _staff_json(data_dir, capsys)] == ["Dana Reyes", "Lena Fischer-Braun"]


def test_missing_roster_file(tmp_path: Path, data_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--data-dir", str(data_dir), "staff", "import", str(tmp_path / "absent.csv")]) == 1
    assert capsys.readouterr().err.strip() == f"staff-feed: roster file not found: {tmp_path / 'absent.csv'}"


def test_import_turns_control_characters_in_names_into_spaces_and_says_how_many(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "controls.csv"
    roster.write_text(
        "name,email,phone,accepts_texts,default_method\n"
        "Dana\x1b]0;retitled\x07Reyes,dana@example.com,,no,email\n"
        '"Sam\x9b31m\nOkafor\u202e",sam@example.com,,no,email\n'
        "Lena Fischer,lena@example.com,,no,email\n",
        newline="",
    )
    assert main(["--data-dir", str(data_dir), "staff", "import", str(roster)]) == 0
    out = capsys.readouterr().out
    assert "imported 3 staff (3 new, 0 updated), 2 name(s) had control characters, now spaces" in out
    names = [s["name"] for s in _staff_json(data_dir, capsys)]
    assert names == ["Dana ]0;retitled Reyes", "Lena Fischer", "Sam 31m Okafor"]
