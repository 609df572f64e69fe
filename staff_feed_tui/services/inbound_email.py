"""Where an email that came back lands: the policy of mail-in (see docs/architecture.md, "Inbound email").

- A bounce (a DSN or a plain one) ends the email delivery that its VERP address names, or, when a relay rewrote that
  address, the one whose Message-ID it returns. A delay notice is a note.
- An auto-reply is a note under the message it answers, never a new unread message.
- A reply lands in the feed of the staff member its signed reply token names; without a token, of the staff member
  with its From address; else in Unknown senders. A token whose signature does not check is never trusted: that
  mail goes to Unknown senders with the reason.

The original is kept whole in the attachment store before anything is written, and the write records the email's
Message-ID in the same transaction, so a second copy changes nothing.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from staff_feed_tui.core.draft import human_size
from staff_feed_tui.core.inbound_media import inbound_filename, is_kept_type
from staff_feed_tui.core.reply_address import AddressKind, ReadAddress, read_address
from staff_feed_tui.core.returned_mail import ParsedMail
from staff_feed_tui.core.safe_text import safe_line
from staff_feed_tui.services.context import Services
from staff_feed_tui.store import inbound_email as store
from staff_feed_tui.store.inbound import Outcome, StoredMedia

log = logging.getLogger(__name__)

MAX_BODY = 100_000  # characters of a reply shown in the feed; the original is kept whole
MAX_FILES = 20
NOTE_CHARS = 200


class Landed(enum.Enum):
    STORED = "stored in a feed"
    TRIAGE = "kept in Unknown senders"
    NOTE = "noted under the message it answers"
    BOUNCED = "bounced a delivery"
    UNMATCHED = "recorded: names nothing of ours"
    DUPLICATE = "already stored"


@dataclass(frozen=True, slots=True)
class MailResult:
    landed: Landed
    staff_id: int | None = None
    message_id: int | None = None
    delivery_id: int | None = None


def receive_returned_mail(services: Services, mail: ParsedMail, raw: bytes) -> MailResult:
    """Store one email that came back (see the module's docstring). Raises only when it could not be stored (the
    database is busy or gone, the disk is full): the caller must then not acknowledge it."""
    blob = services.attachments.put_bytes(raw)  # content-addressed: a duplicate's copy is the same file
    kept = store.KeptEmail(mail.key, mail.from_address[:320], mail.subject[:500], blob.relative_path, blob.size)
    try:
        return _land(services, mail, kept)
    except store.DuplicateMail:
        return MailResult(Landed.DUPLICATE)


def _land(services: Services, mail: ParsedMail, kept: store.KeptEmail) -> MailResult:
    engine = services.engine
    address = _our_address(services, mail)
    if mail.bounce is not None or address.kind is AddressKind.BOUNCE:
        return _bounce(services, mail, kept, address)
    staff_id, reason = _staff_of(services, mail, address)
    if mail.auto_reply:
        first = next((line.strip() for line in mail.reply.splitlines() if line.strip()), mail.subject)
        note = f"auto-reply: {first[:NOTE_CHARS]}"
        target = store.note_on_answered(engine, kept, kind=store.MailKind.AUTO_REPLY, staff_id=staff_id,
                                        answered=mail.answered_message_ids(), note=note)
        return MailResult(Landed.NOTE if target else Landed.UNMATCHED, staff_id, target)
    media, problems = _keep_files(services, mail)
    body = mail.reply or ("(no text)" if not media else "")
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY]
        problems.append(f"the text was cut at {MAX_BODY:,} characters; press v for the whole email")
    note = "; ".join(problems) or None
    received = store.receive_email(engine, kept, body=body, staff_id=staff_id, media=media, note=note,
                                   triage_reason=reason)
    if received.outcome is Outcome.DUPLICATE:
        return MailResult(Landed.DUPLICATE)
    if received.outcome is Outcome.TRIAGE:
        log.info("email %s from %s kept in Unknown senders: %s", safe_line(mail.key), safe_line(mail.from_address),
                 reason)
        return MailResult(Landed.TRIAGE)
    return MailResult(Landed.STORED, staff_id, received.message_id)


def _secret(services: Services) -> bytes | None:
    secret = services.settings.gateway.media_secret
    return secret.get_secret_value().encode() if secret else None


def _our_address(services: Services, mail: ParsedMail) -> ReadAddress:
    """The first recipient that is one of our plus-addresses (a forged one counts: it must not be passed over)."""
    secret, domain = _secret(services), services.settings.email.reply_domain
    for recipient in mail.recipients:
        found = read_address(recipient, secret, domain)
        if found.kind is not AddressKind.OTHER:
            return found
    return ReadAddress(AddressKind.OTHER)


def _staff_of(services: Services, mail: ParsedMail, address: ReadAddress) -> tuple[int | None, str | None]:
    """The staff member a reply belongs to, or None and the reason it goes to Unknown senders."""
    if address.kind is AddressKind.FORGED:
        return None, address.reason
    if address.kind is AddressKind.REPLY and address.ident is not None:
        return address.ident, None  # the write checks they still exist
    if mail.from_address:
        staff_id = store.staff_by_address(services.engine, mail.from_address)
        if staff_id is not None:
            return staff_id, None
    return None, f"no staff member has the address {safe_line(mail.from_address)[:120] or '(none)'}"


def _bounce(services: Services, mail: ParsedMail, kept: store.KeptEmail, address: ReadAddress) -> MailResult:
    report = mail.bounce
    failed = report.failed if report is not None else True
    reason = report.reason if report is not None else "the receiving server returned the email"
    # A forged VERP address names nothing; nor is its Message-ID trusted then.
    delivery_id = address.ident if address.kind is AddressKind.BOUNCE else None
    original = report.original_message_id if report is not None and address.kind is not AddressKind.FORGED else None
    result = store.bounce_delivery(services.engine, kept, delivery_id=delivery_id, original_message_id=original,
                                   failed=failed, reason=safe_line(reason))
    if result.delivery_id is None:
        return MailResult(Landed.UNMATCHED)
    return MailResult(Landed.BOUNCED if result.changed else Landed.NOTE, delivery_id=result.delivery_id)


def _keep_files(services: Services, mail: ParsedMail) -> tuple[list[StoredMedia], list[str]]:
    """The attachments worth keeping, stored, and a sentence for each one left out (type, size, count)."""
    limit = services.settings.email.max_attachment_bytes
    kept: list[StoredMedia] = []
    problems: list[str] = []
    total = 0
    for n, file in enumerate(mail.files, start=1):
        mime = file.mime_type.lower()
        name = inbound_filename(file.filename, mime, f"attachment-{n}")
        if n > MAX_FILES:
            problems.append(f"{len(mail.files) - MAX_FILES} more files were not kept (at most {MAX_FILES})")
            break
        if not is_kept_type(mime):
            problems.append(f"{name} ({safe_line(mime)}) is not a type staff-feed keeps")
            continue
        if total + len(file.data) > limit:
            problems.append(f"{name} ({human_size(len(file.data))}) was not kept: over the email limit of "
                            f"{human_size(limit)}")
            continue
        total += len(file.data)
        blob = services.attachments.put_bytes(file.data)
        kept.append(StoredMedia(name, mime, blob.size, blob.sha256, blob.relative_path))
    return kept, problems


def original_email(services: Services, message_id: int) -> str | None:
    """The whole original of a received email as text (for `v`): its headers, its whole text with the quoted
    history, and its files by name. None when the message did not come by email. Untrusted: show it as data."""
    path = store.original_of(services.engine, message_id)
    if path is None:
        return None
    try:
        raw = services.attachments.path_of(path).read_bytes()
    except OSError as exc:
        return f"(the original email could not be read: {exc.strerror or exc})"
    return readable_email(raw)


def readable_email(raw: bytes) -> str:
    from email import message_from_bytes, policy

    from staff_feed_tui.core.html_text import html_to_text

    mail = message_from_bytes(raw, policy=policy.default)
    lines = []
    for name in ("From", "To", "Cc", "Date", "Subject", "Message-ID"):
        for value in mail.get_all(name) or []:
            lines.append(f"{name}: {safe_line(str(value))}")
    texts, files = [], []
    for part in mail.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        if part.get_content_disposition() == "attachment" or part.get_filename() or not kind.startswith("text/"):
            files.append(f"{part.get_filename() or '(unnamed)'} ({kind})")
            continue
        payload = part.get_payload(decode=True)
        charset = part.get_content_charset() or "utf-8"
        try:
            text = payload.decode(charset, "replace") if isinstance(payload, bytes) else ""
        except LookupError:
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        if kind == "text/html":
            if texts:
                continue  # the HTML rendering of a text already shown
            text = html_to_text(text)
        texts.append(text.replace("\r\n", "\n").strip())
    body = "\n\n".join(texts)
    attached = "\n".join(f"  {safe_line(f)}" for f in files)
    return "\n".join(lines) + "\n\n" + body + (f"\n\nFiles:\n{attached}" if files else "")
