"""Building the email for one delivery, with `email.message.EmailMessage`."""

from __future__ import annotations

import hashlib
import hmac
import re
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import lru_cache

from staff_feed_tui.store.outbox import ClaimedDelivery


def message_id(item: ClaimedDelivery, domain: str) -> str:
    """Stable across retries of one delivery, so a resend after a lost reply is recognisably the same mail."""
    return f"<staff-feed.{item.message_id}.{item.delivery_id}@{domain}>"


def reply_token(staff_id: int, secret: bytes) -> str:
    """A signed reference to a staff member's feed, for threading replies later: `<staff id>.<signature>`."""
    signature = hmac.new(secret, f"feed:{staff_id}".encode(), hashlib.sha256).hexdigest()[:20]
    return f"{staff_id}.{signature}"


class _Registry(HeaderRegistry):
    """The standard header registry, with its classes made once.

    `HeaderRegistry[name]` builds a new class with `type()` on every call (about 20 µs), and `EmailMessage` asks it
    once per header set, to learn the header's maximum count; the class depends only on the name.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


POLICY = policy.default.clone(header_factory=_Registry())


@lru_cache(maxsize=4096)
def _header(name: str, value: str) -> object:
    """A parsed header, reused. Parsing an address header costs about 0.2 ms; a batch repeats the same few.

    EmailMessage takes a header object as it is when its name matches (EmailPolicy.header_store_parse).
    """
    return POLICY.header_factory(name, value)


_PLAIN = re.compile(r"[\x20-\x7e\t\n]*")


def _set_text(mail: EmailMessage, body: str) -> None:
    """`mail.set_content(body)`, with a fast path for the common case.

    Plain ASCII with short lines is what set_content would encode as 7bit; setting the same three headers from
    parsed, cached objects saves most of its 0.35 ms. Anything else goes through set_content.
    """
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if _PLAIN.fullmatch(body) and all(len(line) <= 78 for line in lines):
        mail["Content-Type"] = _header("Content-Type", 'text/plain; charset="utf-8"')
        mail["Content-Transfer-Encoding"] = _header("Content-Transfer-Encoding", "7bit")
        mail["MIME-Version"] = _header("MIME-Version", "1.0")
        mail.set_payload("\n".join(lines) + "\n")
    else:
        mail.set_content(body)


def build_email(
    item: ClaimedDelivery,
    *,
    company: str,
    from_address: str,
    reply_domain: str | None = None,
    reply_secret: bytes | None = None,
) -> EmailMessage:
    domain = from_address.rpartition("@")[2] or "localhost"
    mail = EmailMessage(policy=POLICY)
    author = item.author or "dispatch"
    mail["Subject"] = _header("Subject", f"Message from {company} ({author})")
    mail["From"] = _header("From", formataddr((company, from_address)))
    mail["To"] = _header("To", formataddr((item.staff_name, item.staff_email)))
    mail["Date"] = _header("Date", format_datetime(item.created_at))  # to the second: a batch shares a few
    mail["Message-ID"] = message_id(item, domain)
    if reply_domain and reply_secret:
        mail["Reply-To"] = _header("Reply-To", f"reply+{reply_token(item.staff_id, reply_secret)}@{reply_domain}")
    _set_text(mail, item.body or "(see attached files)")
    for file in item.files:
        maintype, _, subtype = file.mime_type.partition("/")
        mail.add_attachment(
            file.path.read_bytes(),
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=file.filename,
        )
    return mail
