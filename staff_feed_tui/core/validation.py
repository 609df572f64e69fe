"""Checks on contact details: email addresses and phone numbers. One place that every caller uses."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from staff_feed_tui.core.types import DeliveryMethod


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


# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_NAME_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_dispatcher_name(name: str) -> str:
    """The dispatcher's name as given (`--as`, or the OS user), or InvalidContact in one sentence.

    The name goes into every email's Subject and onto every dispatcher's screen: a line break there could add a
    header line, and an escape could drive a terminal.
    """
    if _NAME_CONTROLS.search(name):
        shown = _NAME_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", name)[:60]
        raise InvalidContact(f"the dispatcher name {shown!r} holds a control character (a line break, tab or "
                             "escape); give a plain name with --as")
    if not name.strip():
        raise InvalidContact("the dispatcher name is empty; give one with --as")
    return name


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


class ProfileProblem(InvalidContact):
    """A profile edit that cannot be saved, naming the field (`email`, `phone`, `method`) for the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class ProfileEdit:
    """A staff member's contact details and texting settings, checked and normalised."""

    email: str
    phone: str | None
    accepts_texts: bool
    default_method: DeliveryMethod


def check_profile(
    email: str, phone: str, accepts_texts: bool, default_method: DeliveryMethod, region: str = "US"
) -> ProfileEdit:
    """Check a profile form; raise ProfileProblem with the field and a sentence, or return the normalised edit."""
    try:
        clean_email = normalize_email(email)
    except InvalidContact as exc:
        raise ProfileProblem("email", str(exc)) from None
    clean_phone = None
    if phone.strip():
        try:
            clean_phone = normalize_phone(phone, region)
        except InvalidContact as exc:
            raise ProfileProblem("phone", str(exc)) from None
    if accepts_texts and clean_phone is None:
        raise ProfileProblem("phone", "a mobile number is needed to accept texts")
    if default_method is not DeliveryMethod.EMAIL and not accepts_texts:
        shown = "SMS" if default_method is DeliveryMethod.SMS else "Both"
        raise ProfileProblem("method", f"the default cannot be {shown} while the staff member does not accept texts")
    return ProfileEdit(clean_email, clean_phone, accepts_texts, default_method)
