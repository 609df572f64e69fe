"""Signed, expiring references to a stored attachment, for the `/media/<token>` URLs that Twilio fetches for MMS.

A token is `<attachment id>.<expiry unix time>.<signature>`: an HMAC-SHA256 (with `gateway.media_secret`) over the
id and the expiry. It never carries a path, so a token can only ever name an attachment the store already has.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


class InvalidMediaToken(ValueError):
    """The token is malformed, tampered with, or expired."""


def _signature(secret: bytes, attachment_id: int, expires: int) -> str:
    digest = hmac.new(secret, f"media:{attachment_id}:{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def make_media_token(secret: bytes, attachment_id: int, expires: int) -> str:
    return f"{attachment_id}.{expires}.{_signature(secret, attachment_id, expires)}"


def _is_number(text: str) -> bool:
    """ASCII digits, few enough for any id or time: `²` is a digit to str.isdigit, and int() of 5,000 digits fails."""
    return 0 < len(text) <= 20 and text.isascii() and text.isdigit()


def read_media_token(secret: bytes, token: str, now: float) -> int:
    """Return the attachment id, or raise InvalidMediaToken."""
    parts = token.split(".")
    if len(parts) != 3 or not all(_is_number(part) for part in parts[:2]):
        raise InvalidMediaToken("malformed media token")
    attachment_id, expires = int(parts[0]), int(parts[1])
    if not hmac.compare_digest(parts[2], _signature(secret, attachment_id, expires)):
        raise InvalidMediaToken("bad media token signature")
    if expires < now:
        raise InvalidMediaToken("media token expired")
    return attachment_id
