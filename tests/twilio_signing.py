"""Signing requests exactly as Twilio does: HMAC-SHA1, keyed by the auth token, over the full URL followed by
each POST parameter's name and value, sorted by name; base64 of the digest goes in X-Twilio-Signature."""

from __future__ import annotations

import base64
import hashlib
import hmac


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
