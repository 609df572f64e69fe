"""The plus-addresses that bring mail back: `reply+<staff id>.<sig>@<reply domain>` in an email's Reply-To names a
staff member's feed, and `reply+b<delivery id>.<sig>@<reply domain>` as its envelope sender (VERP) names the one
delivery a bounce is about. Both are signed with `gateway.media_secret`, so that a forged address is never trusted.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from dataclasses import dataclass

PREFIX = "reply"
_LOCAL = re.compile(r"^reply\+(b?)(\d{1,18})\.([0-9a-f]{1,64})$", re.IGNORECASE)


def _signature(secret: bytes, subject: str) -> str:
    return hmac.new(secret, subject.encode(), hashlib.sha256).hexdigest()[:20]


def reply_token(staff_id: int, secret: bytes) -> str:
    """A signed reference to a staff member's feed: `<staff id>.<signature>`."""
    return f"{staff_id}.{_signature(secret, f'feed:{staff_id}')}"


def reply_address(staff_id: int, secret: bytes, domain: str) -> str:
    return f"{PREFIX}+{reply_token(staff_id, secret)}@{domain}"


def bounce_address(delivery_id: int, secret: bytes, domain: str) -> str:
    """The envelope sender of one email delivery: a bounce to it names the delivery."""
    return f"{PREFIX}+b{delivery_id}.{_signature(secret, f'bounce:{delivery_id}')}@{domain}"


class AddressKind(enum.Enum):
    REPLY = "reply"  # names a staff member's feed
    BOUNCE = "bounce"  # names an email delivery
    FORGED = "forged"  # shaped like ours, but its signature does not check
    OTHER = "other"  # not one of ours


@dataclass(frozen=True, slots=True)
class ReadAddress:
    kind: AddressKind
    ident: int | None = None
    reason: str | None = None


def read_address(address: str, secret: bytes | None, domain: str | None) -> ReadAddress:
    """What a recipient address names. Only an address at the reply domain with a good signature names anything."""
    local, _, at = address.strip().strip("<>").rpartition("@")
    match = _LOCAL.match(local)
    if not match or not domain or at.lower() != domain.lower():
        return ReadAddress(AddressKind.OTHER)
    bounce, number, signature = match.group(1), int(match.group(2)), match.group(3).lower()
    if secret is None:
        return ReadAddress(AddressKind.FORGED, number, "no secret is set to check the reply token with")
    subject = f"bounce:{number}" if bounce else f"feed:{number}"
    if not hmac.compare_digest(signature, _signature(secret, subject)):
        what = "bounce address" if bounce else "reply token"
        return ReadAddress(AddressKind.FORGED, number, f"the {what} in {local}@{at} has a signature that does not check")
    return ReadAddress(AddressKind.BOUNCE if bounce else AddressKind.REPLY, number)
