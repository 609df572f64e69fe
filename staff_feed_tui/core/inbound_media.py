"""What an inbound file may be, whether it came as MMS media or as an email attachment: one list of types kept, and
one way of naming a file that a sender named (or did not)."""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath

from staff_feed_tui.core.safe_text import safe_line

# Pictures, video, audio, PDFs, contact and calendar cards, text.
ALLOWED_MEDIA = ("image/", "video/", "audio/", "application/pdf", "text/vcard", "text/x-vcard", "text/calendar",
                 "text/plain")
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
              "image/heic": ".heic", "video/mp4": ".mp4", "video/3gpp": ".3gp", "audio/mpeg": ".mp3",
              "audio/ogg": ".ogg", "audio/amr": ".amr", "application/pdf": ".pdf", "text/vcard": ".vcf",
              "text/x-vcard": ".vcf", "text/calendar": ".ics", "text/plain": ".txt"}
MAX_NAME = 120


def is_kept_type(mime_type: str) -> bool:
    return mime_type.lower().startswith(ALLOWED_MEDIA)


def inbound_filename(name: str | None, mime_type: str, fallback: str) -> str:
    """A sender's file name made safe to show and store: no folders, no controls, not too long, never empty."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name if name else ""
    base = safe_line(base).strip().lstrip(".")[:MAX_NAME]
    if not base:
        base = f"{fallback}{EXTENSIONS.get(mime_type.lower(), '')}"
    return base
