"""Twilio error codes in words, for the feed, the worker and the gateway's status callbacks. One table, one place."""

from __future__ import annotations

OPTED_OUT = 21610
TRANSIENT_CODES = frozenset({20429})  # too many requests

WORDS = {
    20429: "Twilio rate limit: too many requests",
    21211: "not a valid mobile number",
    21408: "texting to this region is not enabled on the Twilio account",
    21610: "the staff member replied STOP (opted out of texts)",
    21614: "the number cannot receive texts",
    30003: "phone unreachable or switched off",
    30004: "message blocked by the recipient or carrier",
    30005: "unknown number or inactive line",
    30006: "landline or unreachable carrier",
    30007: "filtered by the carrier as spam",
    30008: "unknown delivery error at the carrier",
}


def describe(code: int | None, fallback: str = "") -> str:
    """`30006` -> `30006 landline or unreachable carrier`."""
    if code is None:
        return fallback or "unknown error"
    words = WORDS.get(code)
    if words:
        return f"{code} {words}"
    return f"{code} {fallback}".strip()
