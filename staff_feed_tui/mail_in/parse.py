"""Reading one email that came back: who sent it and to which address, its text (HTML turned into text), the reply
without the quoted history and signature, its files, and whether it is an auto-reply or a bounce (see `dsn.py`).

Everything here is pure: bytes in, a `ParsedMail` out. Nothing in a sender's mail is trusted: the caller checks the
reply address's signature, and every text shown later goes through `core.safe_text`.
"""

from __future__ import annotations

import hashlib
import re
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr
from functools import lru_cache

from staff_feed_tui.core.html_text import html_to_text
from staff_feed_tui.core.returned_mail import MailFile, ParsedMail
from staff_feed_tui.mail_in.dsn import read_bounce

MAX_KEY = 250
_MSGID = re.compile(r"<[^<>\s]{1,250}>")


def parse_mail(raw: bytes, envelope_recipients: tuple[str, ...] = ()) -> ParsedMail:
    # compat32: headers stay strings until asked for. policy.default parses every header into objects on each
    # access, which cost about 60 ms an email on this machine (most of a reply's ingest time).
    mail = message_from_bytes(raw, policy=policy.compat32)
    message_id = _header(mail, "Message-ID").strip()
    key = message_id[:MAX_KEY] if _MSGID.fullmatch(message_id) else f"sha256:{hashlib.sha256(raw).hexdigest()}"
    name, address = parseaddr(_header(mail, "From"))
    recipients = [*envelope_recipients]
    for header in ("Delivered-To", "X-Original-To", "To", "Cc"):
        recipients += [a for _, a in getaddresses([str(v) for v in mail.get_all(header) or []])]
    references = _MSGID.findall(_header(mail, "In-Reply-To")) + _MSGID.findall(_header(mail, "References"))[::-1]
    body_part = _body_part(mail)
    text = _part_text(body_part) if body_part is not None else ""
    bounce = read_bounce(mail, text)
    return ParsedMail(
        key=key,
        from_address=address.strip(),
        from_name=_decoded(name).strip(),
        subject=_decoded(_header(mail, "Subject")),
        recipients=tuple(dict.fromkeys(r.strip() for r in recipients if r.strip())),
        references=tuple(dict.fromkeys(references)),
        text=text,
        reply=reply_text(text),
        files=() if bounce else tuple(_files(mail, body_part)),
        auto_reply=bounce is None and is_auto_reply(mail),
        bounce=bounce,
    )


def _header(mail: Message, name: str) -> str:
    value = mail.get(name)
    return "" if value is None else str(value)


def _decoded(value: str) -> str:
    """An RFC 2047 encoded header (`=?utf-8?q?...?=`) as text; a malformed one as written."""
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # noqa: BLE001 - a sender's malformed encoded word
        return value


def is_auto_reply(mail: Message) -> bool:
    """RFC 3834's Auto-Submitted, Precedence bulk/junk/list, and the headers and subjects of common responders."""
    auto = _header(mail, "Auto-Submitted").strip().lower()
    if auto and not auto.startswith("no"):
        return True
    if _header(mail, "Precedence").strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return True
    if any(_header(mail, h) for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Response")):
        return True
    subject = _decoded(_header(mail, "Subject")).strip().lower()
    return subject.startswith(("out of office", "automatic reply", "auto:", "autoreply", "auto-reply"))


def _is_attachment(part: Message) -> bool:
    return (part.get("Content-Disposition") or "").strip().lower().startswith("attachment")


def _body_part(mail: Message) -> Message | None:
    """The part that holds the text: the first plain text that is not an attachment, else the first HTML."""
    html = None
    for part in mail.walk():
        if part.is_multipart() or _is_attachment(part):
            continue
        kind = part.get_content_type()
        if kind == "text/plain":
            return part
        if kind == "text/html" and html is None:
            html = part
        if kind.startswith("message/") and part is not mail:
            break  # a returned original (a bounce's) is not this mail's text
    return html


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload() or "").encode("utf-8", "replace")
    charset = part.get_content_charset() or "utf-8"
    try:
        content = payload.decode(charset, "replace")
    except LookupError:  # an unknown charset: read what is there
        content = payload.decode("utf-8", "replace")
    if part.get_content_type() == "text/html":
        content = html_to_text(content)
    return content.replace("\r\n", "\n").strip()


def _files(mail: Message, body_part: Message | None) -> list[MailFile]:
    files = []
    for part in mail.walk():
        if part is body_part or part.is_multipart():
            continue
        try:
            name = part.get_filename()
        except Exception:  # noqa: BLE001 - a malformed filename parameter
            name = None
        if part.get_content_maintype() == "text" and not _is_attachment(part) and not name:
            continue  # another rendering of the body (text and HTML both)
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        files.append(MailFile(_decoded(name) if name else None, part.get_content_type(), data))
    return files


# ---- the reply without the quoted history ------------------------------------------------------------------------

# Headers a client writes above the quoted original, and the lines that start it, where the parser leaves them.
_QUOTE_START = re.compile(
    r"^(On .{0,300}wrote:?\s*$|-{2,}\s*Original Message\s*-{2,}|_{10,}\s*$|From:\s.+$|>)", re.MULTILINE
)


@lru_cache(maxsize=1)
def _reply_parser():  # type: ignore[no-untyped-def]
    """Made once: building it compiles its patterns for every language."""
    from mailparser_reply import EmailReplyParser

    return EmailReplyParser(languages=["en", "de", "fr", "es", "it", "nl", "pl", "sv"])


def reply_text(text: str) -> str:
    """The new text of a reply: mail-parser-reply splits off the quoted history and the signature."""
    if not text.strip():
        return ""
    try:
        replies = _reply_parser().read(text=text).replies
        body = replies[0].body.strip() if replies else text
    except Exception:  # noqa: BLE001 - the parser on a sender's text: never lose the reply over it
        body = text
    match = _QUOTE_START.search(body)
    if match and match.start() > 0:
        body = body[: match.start()]
    return body.strip() or text.strip()
