"""The checks on an outgoing message, in one place.

The composer and `staff-feed send` both call these, so a dispatcher reads the same sentence whichever way they
send. Each error names the file and the limit.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from staff_feed_tui.core.safe_text import safe_line

DEFAULT_EMAIL_LIMIT_BYTES = 20 * 1024 * 1024


class DraftError(ValueError):
    """A draft that cannot be sent as it is. The text is one sentence for a dispatcher."""


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    """A file a dispatcher chose, checked and ready to be copied into the attachment store at send time."""

    path: Path
    filename: str
    size: int
    mime_type: str


def human_size(size: int) -> str:
    """`1536` -> `1.5 KB`. Decimal units, as mail clients show them."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def guess_mime_type(filename: str) -> str:
    mime_type, _ = mimetypes.guess_type(filename, strict=False)
    return mime_type or "application/octet-stream"


# Longer text is never taken as a path: Linux allows 4,095 bytes in a path and 255 in one name.
PATH_MAX_BYTES = 4095


def pasted_file_path(text: str) -> str | None:
    """The path of an existing file, if that is all `text` is (as a dispatcher pastes or types one), else None.

    Anything else is a message, so this never raises: a long line, a NUL or a name over 255 bytes is simply text.
    """
    candidate = text.strip().strip("'\"")
    if not candidate or "\n" in candidate or "\0" in candidate:
        return None
    if len(candidate.encode("utf-8", "surrogatepass")) > PATH_MAX_BYTES:
        return None
    try:
        return candidate if os.path.isfile(os.path.expanduser(candidate)) else None
    except (OSError, ValueError):
        return None


def check_attachment(raw_path: str | os.PathLike[str], already: Sequence[AttachmentFile] = ()) -> AttachmentFile:
    """Check one file a dispatcher wants to attach, and return it, or raise DraftError."""
    text = os.fspath(raw_path)
    if not text.strip():
        raise DraftError("attachment path is empty")
    path = Path(text).expanduser()
    shown = safe_line(text)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DraftError(f"attachment not found: {shown}") from None
    except OSError as exc:
        raise DraftError(f"attachment cannot be read: {shown} ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise DraftError(f"attachment is a directory, not a file: {shown}")
    if not stat.S_ISREG(info.st_mode):
        raise DraftError(f"attachment is not a regular file: {shown}")
    if not os.access(path, os.R_OK):
        raise DraftError(f"attachment cannot be read (permission denied): {shown}")
    if info.st_size == 0:
        raise DraftError(f"attachment is empty: {shown}")
    resolved = path.resolve()
    for other in already:
        if other.path.resolve() == resolved:
            raise DraftError(f"attachment is already attached: {safe_line(path.name)}")
    return AttachmentFile(path=resolved, filename=path.name, size=info.st_size, mime_type=guess_mime_type(path.name))


def check_attachments(
    raw_paths: Sequence[str | os.PathLike[str]], *, email_limit_bytes: int = DEFAULT_EMAIL_LIMIT_BYTES
) -> list[AttachmentFile]:
    """Check a whole list of paths, as `staff-feed send --attach` gives them."""
    files: list[AttachmentFile] = []
    for raw in raw_paths:
        files.append(check_attachment(raw, files))
    check_email_size(files, email_limit_bytes)
    return files


def check_email_size(files: Sequence[AttachmentFile], limit_bytes: int) -> None:
    total = sum(f.size for f in files)
    if total > limit_bytes:
        largest = max(files, key=lambda f: f.size)
        raise DraftError(
            f"attachments too large for email: {human_size(total)} in total, the limit is {human_size(limit_bytes)}"
            f" (largest: {safe_line(largest.filename)}, {human_size(largest.size)})"
        )


def check_draft(body: str, files: Sequence[AttachmentFile]) -> str:
    """Return the body to store (trailing blank lines trimmed), or raise DraftError."""
    trimmed = body.rstrip()
    if not trimmed.strip() and not files:
        raise DraftError("message is empty: write something or attach a file")
    return trimmed


# Twilio's MMS limits: at most 10 media and 5 MB in all, of types Twilio accepts.
MMS_MAX_FILES = 10
MMS_MAX_BYTES = 5 * 1000 * 1000
MMS_TYPES = frozenset(
    {
        "image/jpeg", "image/jpg", "image/gif", "image/png", "image/bmp", "image/tiff", "image/webp",
        "audio/basic", "audio/mp4", "audio/mpeg", "audio/ogg", "audio/vnd.wave", "audio/wav", "audio/3gpp",
        "audio/3gpp2", "audio/ac3", "audio/webm", "audio/amr", "video/mpeg", "video/mp4", "video/quicktime",
        "video/webm", "video/3gpp", "video/3gpp2", "video/h264", "text/vcard", "text/x-vcard", "text/csv",
        "text/rtf", "text/calendar", "text/plain", "application/pdf",
    }
)


def mms_problems(files: Sequence[AttachmentFile]) -> list[str]:
    """Why these files cannot go by MMS, one sentence each (empty when they can)."""
    problems = []
    if len(files) > MMS_MAX_FILES:
        problems.append(f"{len(files)} files is too many for a text: MMS takes at most {MMS_MAX_FILES}")
    total = sum(f.size for f in files)
    if total > MMS_MAX_BYTES:
        largest = max(files, key=lambda f: f.size)
        problems.append(
            f"attachments too large for a text: {human_size(total)} in total, the MMS limit is "
            f"{human_size(MMS_MAX_BYTES)} (largest: {safe_line(largest.filename)}, {human_size(largest.size)})"
        )
    for f in files:
        if f.mime_type.lower() not in MMS_TYPES:
            problems.append(f"{safe_line(f.filename)} ({f.mime_type}) is not a file type a text can carry")
    return problems


def check_sms_text(body: str) -> None:
    from staff_feed_tui.core.segments import MAX_SMS_CHARS

    if len(body) > MAX_SMS_CHARS:
        raise DraftError(f"text too long for SMS: {len(body)} characters, the limit is {MAX_SMS_CHARS}")
