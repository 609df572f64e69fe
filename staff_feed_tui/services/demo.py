"""The demo: its own settings (a database of its own, texting on, the file transports) and its seeded data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from staff_feed_tui.config import Settings
from staff_feed_tui.store.demo import is_seeded, seed_demo

if TYPE_CHECKING:
    from staff_feed_tui.services.context import Services


DEMO_REPLY_DOMAIN = "replies.paws.example"
DEMO_SECRET = "staff-feed-demo-secret"


def shipped_data_dir() -> Path:
    """The demo data: inside the wheel as `_data`, or the repo's `data/` in an editable install."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_data", package.parent / "data"):
        if (candidate / "demo_staff.csv").is_file():
            return candidate
    raise FileNotFoundError("the demo data (demo_staff.csv) is missing from this installation")


def demo_settings(settings: Settings) -> Settings:
    """The demo: its own database in `<data dir>/demo`, texting on, the file transports, and a reply domain with a
    fixed secret, so that its emails carry a reply address that mail-in can read back."""
    return settings.model_copy(
        update={
            "data_dir": settings.data_dir / "demo",
            "database": settings.database.model_copy(update={"url": None}),
            "company": settings.company.model_copy(
                update={"name": "Paws & Co. (demo)", "text_messaging": True, "sms_number": "+14155550100"}
            ),
            "email": settings.email.model_copy(
                update={"transport": "file", "from_address": "dispatch@paws.example", "reply_domain": DEMO_REPLY_DOMAIN}
            ),
            "sms": settings.sms.model_copy(update={"transport": "file", "from_number": "+14155550100"}),
            # A fixed, public secret: the demo's reply tokens sign nothing that matters, and a reply written to a
            # demo email works across restarts.
            "gateway": settings.gateway.model_copy(update={"media_secret": SecretStr(DEMO_SECRET)}),
        }
    )


def seed_demo_once(services: Services, data_dir: Path | None = None) -> int:
    """Seed the shipped roster and conversations into an empty demo database; returns the messages added (0 when
    the database already held staff: a second `--demo` start keeps what the first one and the dispatcher did)."""
    if is_seeded(services.engine):
        return 0
    return seed_demo(services.engine, services.attachments, data_dir or shipped_data_dir())
