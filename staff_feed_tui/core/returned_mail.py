"""An email that came back, as mail-in read it: the value that `mail_in` hands to `services`, which decides where
it lands. Every text in it is the sender's, untrusted."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Our own Message-IDs (delivery/email.py): `<staff-feed.<message id>.<delivery id>@domain>`.
OUR_MESSAGE_ID = re.compile(r"<staff-feed\.(\d{1,18})\.(\d{1,18})@[^>\s]+>")


@dataclass(frozen=True, slots=True)
class BounceReport:
    failed: bool  # False: delivery is only delayed (a note, not a failure)
    reason: str
    recipient: str | None = None
    original_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class MailFile:
    filename: str | None
    mime_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ParsedMail:
    key: str  # the Message-ID, or the sha256 of a message without one: what dedupes it
    from_address: str
    from_name: str
    subject: str
    recipients: tuple[str, ...]  # envelope recipients first, then Delivered-To, X-Original-To, To, Cc
    references: tuple[str, ...]  # In-Reply-To and References, newest first
    text: str  # the whole text
    reply: str  # the text without quoted history and signature
    files: tuple[MailFile, ...] = field(default_factory=tuple)
    auto_reply: bool = False
    bounce: BounceReport | None = None

    def answered_message_ids(self) -> list[int]:
        """The ids of our messages that this one answers, as its In-Reply-To and References name them."""
        found = []
        for ref in self.references:
            match = OUR_MESSAGE_ID.fullmatch(ref)
            if match:
                found.append(int(match.group(1)))
        return found


