"""Checks on contact details: email addresses and phone numbers. One place that every caller uses."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class InvalidContact(ValueError):
    """A contact detail that cannot be used, with a sentence a dispatcher can act on."""


def normalize_email(raw: str) -> str:
    """Return the normalised address, or raise InvalidContact. No DNS look-ups: the check must work offline."""
    raw = raw.strip()
    if not raw:
        raise InvalidContact("email is missing")
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidContact(f"email {raw!r} is not valid: {exc}") from None


def normalize_phone(raw: str, region: str = "US") -> str:
    """Return the number in E.164 (`+15551234567`), or raise InvalidContact."""
    raw = raw.strip()
    if not raw:
        raise InvalidContact("phone number is missing")
    try:
        number = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException:
        raise InvalidContact(f"phone {raw!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact(f"phone {raw!r} is not a valid number for region {region.upper()}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
