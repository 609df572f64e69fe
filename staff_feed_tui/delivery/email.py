"""Building the email for one delivery, with `email.message.EmailMessage`."""

from __future__ import annotations

import hashlib
import hmac
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from staff_feed_tui.store.outbox import ClaimedDelivery


def message_id(item: ClaimedDelivery, domain: str) -> str:
    """Stable across retries of one delivery, so a resend after a lost reply is recognisably the same mail."""
    return f"<staff-feed.{item.message_id}.{item.delivery_id}@{domain}>"


def reply_token(staff_id: int, secret: bytes) -> str:
    """A signed reference to a staff member's feed, for threading replies later: `<staff id>.<signature>`."""
    signature = hmac.new(secret, f"feed:{staff_id}".encode(), hashlib.sha256).hexdigest()[:20]
    return f"{staff_id}.{signature}"


def build_email(
    item: ClaimedDelivery,
    *,
    company: str,
    from_address: str,
    reply_domain: str | None = None,
    reply_secret: bytes | None = None,
) -> EmailMessage:
    domain = from_address.rpartition("@")[2] or "localhost"
    mail = EmailMessage()
    author = item.author or "dispatch"
    mail["Subject"] = f"Message from {company} ({author})"
    mail["From"] = formataddr((company, from_address))
    mail["To"] = formataddr((item.staff_name, item.staff_email))
    mail["Date"] = format_datetime(item.created_at)
    mail["Message-ID"] = message_id(item, domain)
    if reply_domain and reply_secret:
        mail["Reply-To"] = f"reply+{reply_token(item.staff_id, reply_secret)}@{reply_domain}"
    mail.set_content(item.body or "(see attached files)")
    for file in item.files:
        maintype, _, subtype = file.mime_type.partition("/")
        mail.add_attachment(
            file.path.read_bytes(),
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=file.filename,
        )
    return mail
