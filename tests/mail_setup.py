"""Services set up for the mail-in tests: a reply domain and a secret, the test roster, and ways to read back."""

from __future__ import annotations

from pathlib import Path

from staff_feed_tui.config import Settings, load_settings
from staff_feed_tui.core.reply_address import reply_address
from staff_feed_tui.core.roster import parse_roster
from staff_feed_tui.core.types import Direction
from staff_feed_tui.services import Services, open_services
from staff_feed_tui.store.feed import iter_feed
from staff_feed_tui.store.staff import find_staff, import_staff
from tests.conftest import ROSTER

SECRET = b"test-reply-secret"
DOMAIN = "paws.example"


def mail_settings(data_dir: Path, inbound: dict | None = None, **email: object) -> Settings:
    return load_settings(
        data_dir=data_dir,
        company={"name": "Paws & Co.", "text_messaging": True},
        email={"transport": "file", "from_address": "dispatch@paws.example", "reply_domain": DOMAIN, **email},
        sms={"transport": "file", "from_number": "+14155550100"},
        gateway={"media_secret": SECRET.decode()},
        inbound_email=inbound or {"transport": "lmtp", "port": 0},
    )


def open_mail_services(data_dir: Path, inbound: dict | None = None, **email: object) -> Services:
    svc = open_services(mail_settings(data_dir, inbound, **email), dispatcher="alex")
    rows, errors = parse_roster(ROSTER)
    assert not errors
    import_staff(svc.engine, [row for _, row in rows])
    return svc


def staff_id(svc: Services, email: str) -> int:
    return find_staff(svc.engine, email).id


def token_for(svc: Services, email: str) -> str:
    return reply_address(staff_id(svc, email), SECRET, DOMAIN)


def received(svc: Services, email: str) -> list:
    return [m for m in iter_feed(svc.engine, staff_id(svc, email)) if m.direction is Direction.IN]
