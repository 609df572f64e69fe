"""One email in: read it (`parse.py`), then let `services.inbound_email` decide where it lands and store it.

Both ways in (IMAP and LMTP) call `ingest`, and acknowledge the email only when it returns: it raises when the email
could not be stored, so that the mail stays with the server (IMAP) or the MTA (LMTP, a 4xx) and comes again.
"""

from __future__ import annotations

import hashlib
import logging

from staff_feed_tui.core.returned_mail import ParsedMail
from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.mail_in.parse import parse_mail
from staff_feed_tui.services.context import Services
from staff_feed_tui.services.inbound_email import MailResult, receive_returned_mail

log = logging.getLogger(__name__)

MAX_MAIL_BYTES = 50 * 1024 * 1024  # larger mail is refused by LMTP and left on the IMAP server


def read_mail(raw: bytes, envelope_recipients: tuple[str, ...] = ()) -> ParsedMail:
    """The parsed mail; a mail the parser cannot read at all still arrives, as its raw text, for a dispatcher."""
    try:
        return parse_mail(raw, envelope_recipients)
    except Exception:
        log.exception("an email could not be parsed; it is kept as raw text")
        text = raw.decode("utf-8", "replace")
        return ParsedMail(key=f"sha256:{hashlib.sha256(raw).hexdigest()}", from_address="", from_name="", subject="",
                          recipients=envelope_recipients, references=(), text=text, reply=text[:10_000])


def ingest(services: Services, raw: bytes, envelope_recipients: tuple[str, ...] = ()) -> MailResult:
    mail = read_mail(raw, envelope_recipients)
    result = receive_returned_mail(services, mail, raw)
    log.info("email %s from %s: %s", safe_line(mail.key)[:120], safe_line(mail.from_address)[:120],
             result.landed.value)
    return result
