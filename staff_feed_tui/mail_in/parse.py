"""Reading one email that came back: who sent it and to which address, its text (HTML turned into text), the reply
without the quoted history and signature, its files, and whether it is an auto-reply or a bounce (see `dsn.py`).

Everything here is pure: bytes in, a `ParsedMail` out. Nothing in a sender's mail is trusted: the caller checks the
reply address's signature, and every text shown later goes through `core.safe_text`.
"""

from __future__ import annotations

import hashlib
import re
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr

from staff_feed_tui.core.html_text import html_to_text
from staff_feed_tui.core.returned_mail import MailFile, ParsedMail
from staff_feed_tui.mail_in.dsn import read_bounce

MAX_KEY = 250
_MSGID = re.compile(r"<[^<>\s]{1,250}>")


def parse_mail(raw: bytes, envelope_recipients: tuple[str, ...] = ()) -> ParsedMail:
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    message_id = _header(mail, "Message-ID").strip()
    key = message_id[:MAX_KEY] if _MSGID.fullmatch(message_id) else f"sha256:{hashlib.sha256(raw).hexdigest()}"
    name, address = parseaddr(_header(mail, "From"))
    recipients = [*envelope_recipients]
    for header in ("Delivered-To", "X-Original-To", "To", "Cc"):
        recipients += [a for _, a in getaddresses([_header(mail, header, n) for n in range(_count(mail, header))])]
    references = _MSGID.findall(_header(mail, "In-Reply-To")) + _MSGID.findall(_header(mail, "References"))[::-1]
    body_part = _body_part(mail)
    text = _part_text(body_part) if body_part is not None else ""
    bounce = read_bounce(mail, text)
    return ParsedMail(
        key=key,
        from_address=address.strip(),
        from_name=name.strip(),
        subject=_header(mail, "Subject"),
        recipients=tuple(dict.fromkeys(r.strip() for r in recipients if r.strip())),
        references=tuple(dict.fromkeys(references)),
        text=text,
        reply=reply_text(text),
        files=() if bounce else tuple(_files(mail, body_part)),
        auto_reply=bounce is None and is_auto_reply(mail),
        bounce=bounce,
    )


def _header(mail: Message, name: str, index: int = 0) -> str:
    """A header as text; a header the parser cannot read as its kind is read as plain text, never raised."""
    try:
        values = mail.get_all(name) or []
        return str(values[index]) if index < len(values) else ""
    except Exception:  # noqa: BLE001 - a malformed header in a sender's mail
        raw = mail.get_all(name, failobj=[""]) or [""]
        return raw[index] if index < len(raw) and isinstance(raw[index], str) else ""


def _count(mail: Message, name: str) -> int:
    return len(mail.get_all(name) or [])


def is_auto_reply(mail: Message) -> bool:
    """RFC 3834's Auto-Submitted, Precedence bulk/junk/list, and the headers and subjects of common responders."""
    auto = _header(mail, "Auto-Submitted").strip().lower()
    if auto and not auto.startswith("no"):
        return True
    if _header(mail, "Precedence").strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return True
    if any(_header(mail, h) for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Response")):
        return True
    subject = _header(mail, "Subject").strip().lower()
    return subject.startswith(("out of office", "automatic reply", "auto:", "autoreply", "auto-reply"))


def _body_part(mail: EmailMessage) -> Message | None:
    """The part that holds the text: plain text preferred, else HTML."""
    try:
        return mail.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001 - a malformed MIME tree
        return None


def _part_text(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - an unknown charset or a broken transfer encoding: read what is there
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload or "")
    if not isinstance(content, str):
        content = content.decode("utf-8", "replace") if isinstance(content, bytes) else ""
    if part.get_content_type() == "text/html":
        content = html_to_text(content)
    return content.replace("\r\n", "\n").strip()


def _files(mail: EmailMessage, body_part: Message | None) -> list[MailFile]:
    files = []
    for part in mail.walk():
        if part is body_part or part.is_multipart():
            continue
        disposition = (part.get_content_disposition() or "").lower()
        if part.get_content_maintype() == "text" and disposition != "attachment" and not part.get_filename():
            continue  # another rendering of the body (text and HTML both)
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        try:
            name = part.get_filename()
        except Exception:  # noqa: BLE001 - a malformed filename parameter
            name = None
        files.append(MailFile(name, part.get_content_type(), data))
    return files


# ---- the reply without the quoted history ------------------------------------------------------------------------

# Headers a client writes above the quoted original, and the lines that start it, where the parser leaves them.
_QUOTE_START = re.compile(
    r"^(On .{0,300}wrote:?\s*$|-{2,}\s*Original Message\s*-{2,}|_{10,}\s*$|From:\s.+$|>)", re.MULTILINE
)


def reply_text(text: str) -> str:
    """The new text of a reply: mail-parser-reply splits off the quoted history and the signature."""
    if not text.strip():
        return ""
    from mailparser_reply import EmailReplyParser

    try:
        replies = EmailReplyParser(languages=["en", "de", "fr", "es", "it", "nl", "pl", "sv"]).read(text=text).replies
        body = replies[0].body.strip() if replies else text
    except Exception:  # noqa: BLE001 - the parser on a sender's text: never lose the reply over it
        body = text
    match = _QUOTE_START.search(body)
    if match and match.start() > 0:
        body = body[: match.start()]
    return body.strip() or text.strip()
