"""Bounces: a delivery status notification (RFC 3464, `multipart/report; report-type=delivery-status`), as Postfix,
Exchange and most servers write them, or a plain bounce in words from an older server.

What a bounce says is read into a `BounceReport`: whether delivery failed or is only delayed, the reason in the
server's words ("550 5.1.1 <a@b>: Recipient address rejected"), and the original's Message-ID for matching when the
envelope address was rewritten on the way.
"""

from __future__ import annotations

import re
from email.message import Message

from staff_feed_tui.core.returned_mail import BounceReport

_MSGID = re.compile(r"<[^<>\s]{1,250}>")
_SMTP_REPLY = re.compile(r"\b([45]\d\d)[ -]((?:[45])\.\d{1,3}\.\d{1,3})?\s*([^\n]{0,300})")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# RFC 3463's enhanced status codes, in words, for a DSN that gives no diagnostic of its own.
_WORDS = {
    "1.1": "mailbox unavailable",
    "1.2": "no such domain",
    "1.10": "no such recipient",
    "2.1": "mailbox disabled",
    "2.2": "mailbox full",
    "2.3": "message too large",
    "3.4": "message too large",
    "4.4": "no answer from the receiving server",
    "4.7": "delivery time expired",
    "7.1": "delivery not authorized, message refused",
}
_PLAIN_BOUNCE = re.compile(
    r"undeliver|returned to sender|delivery status notification|delivery (has )?failed|failure notice|"
    r"mail delivery (failed|subsystem)|could not be delivered",
    re.IGNORECASE,
)
_MAX_REASON = 300


def read_bounce(mail: Message, text: str) -> BounceReport | None:
    """The bounce this mail is, or None for any other mail."""
    if mail.get_content_type() == "multipart/report":
        report = _read_dsn(mail)
        if report is not None:
            return report
    return _read_plain(mail, text)


def _read_dsn(mail: Message) -> BounceReport | None:
    status_part = next((p for p in mail.walk() if p.get_content_type() == "message/delivery-status"), None)
    if status_part is None:
        return None
    blocks = [b for b in status_part.get_payload() if isinstance(b, Message)] if status_part.is_multipart() else []
    recipients = blocks[1:] if len(blocks) > 1 else blocks
    chosen: Message | None = None
    for block in recipients:
        action = str(block.get("Action", "")).strip().lower()
        if action == "failed":
            chosen = block
            break
        if action == "delayed" and chosen is None:
            chosen = block
    if chosen is None:
        return None  # a success notice (delivered, relayed, expanded) is not a bounce
    failed = str(chosen.get("Action", "")).strip().lower() == "failed"
    status = str(chosen.get("Status", "")).strip()
    diagnostic = _unfold(str(chosen.get("Diagnostic-Code", "")))
    if ";" in diagnostic:
        diagnostic = diagnostic.split(";", 1)[1].strip()  # "smtp; 550 ..." names the diagnostic's type first
    recipient = _unfold(str(chosen.get("Final-Recipient") or chosen.get("Original-Recipient") or ""))
    recipient = recipient.split(";", 1)[1].strip() if ";" in recipient else recipient or None
    return BounceReport(
        failed=failed,
        reason=_reason(diagnostic, status, failed),
        recipient=recipient or None,
        original_message_id=_original_message_id(mail),
    )


def _original_message_id(mail: Message) -> str | None:
    """The Message-ID of the returned original: a message/rfc822 part or text/rfc822-headers."""
    for part in mail.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message) and inner.get("Message-ID"):
                found = _MSGID.search(str(inner.get("Message-ID")))
                if found:
                    return found.group()
        elif kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(part.get_payload())
            found = re.search(r"^Message-ID:\s*(<[^<>\s]{1,250}>)", text, re.IGNORECASE | re.MULTILINE)
            if found:
                return found.group(1)
    return None


def _read_plain(mail: Message, text: str) -> BounceReport | None:
    """A bounce written for people only: from the mailer daemon or postmaster, with a subject that says so."""
    sender = str(mail.get("From", "")).lower()
    subject = str(mail.get("Subject", ""))
    from_daemon = "mailer-daemon" in sender or "postmaster" in sender
    if not (from_daemon and _PLAIN_BOUNCE.search(subject)) and not (
        not str(mail.get("Return-Path", "<x>")).strip("<> ") and _PLAIN_BOUNCE.search(subject)
    ):
        return None
    delayed = "delay" in subject.lower() or "warning" in subject.lower()
    reply = _SMTP_REPLY.search(text)
    diagnostic = " ".join(filter(None, reply.groups())) if reply else ""
    status = _STATUS.search(text)
    ids = _MSGID.findall(text)
    return BounceReport(
        failed=not delayed,
        reason=_reason(diagnostic, status.group() if status else "", not delayed),
        original_message_id=next((i for i in ids if i.lower().startswith("<staff-feed.")), ids[0] if ids else None),
    )


def _unfold(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


def _reason(diagnostic: str, status: str, failed: bool) -> str:
    """The server's own words when it gave some, else the status code in words."""
    if diagnostic:
        reason = diagnostic
    else:
        code = _STATUS.search(status)
        words = _WORDS.get(f"{code.group(2)}.{code.group(3)}") if code else None
        if code and words:
            reason = f"{code.group()} {words}"
        elif code:
            reason = code.group()
        else:
            reason = "the receiving server returned the email" if failed else "delivery is delayed"
    reason = _unfold(reason)
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 1] + "…"
