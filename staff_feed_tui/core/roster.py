"""Reading a staff roster CSV: `name,email,phone,accepts_texts,default_method`. Pure: text in, rows or errors out."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from staff_feed_tui.core.types import DeliveryMethod
from staff_feed_tui.core.validation import InvalidContact, normalize_email, normalize_phone

COLUMNS = ("name", "email", "phone", "accepts_texts", "default_method")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}


@dataclass(frozen=True, slots=True)
class StaffInput:
    name: str
    email: str
    phone: str | None
    accepts_texts: bool
    default_method: DeliveryMethod


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class RosterError(ValueError):
    """The file as a whole cannot be read (no header, wrong columns)."""


def parse_roster(text: str, *, region: str = "US") -> tuple[list[tuple[int, StaffInput]], list[RowError]]:
    """Return the valid rows with their line numbers, and an error for each bad row."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not header:
        raise RosterError("the roster is empty: expected a header row " + ",".join(COLUMNS))
    missing = [c for c in COLUMNS if c not in header and c != "phone"]
    if missing:
        raise RosterError(f"the header row lacks the column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}")
    reader.fieldnames = header
    rows: list[tuple[int, StaffInput]] = []
    errors: list[RowError] = []
    seen_emails: dict[str, int] = {}
    for record in _records(reader):
        line = reader.line_num
        if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue
        try:
            row = _parse_row(record, region)
        except InvalidContact as exc:
            errors.append(RowError(line, str(exc)))
            continue
        key = row.email.lower()
        if key in seen_emails:
            errors.append(RowError(line, f"email {row.email} already appears on line {seen_emails[key]}"))
            continue
        seen_emails[key] = line
        rows.append((line, row))
    return rows, errors


def _records(reader: csv.DictReader[str]) -> Iterator[dict[str, str | None]]:
    """The reader's rows; a field over the csv module's size limit ends the file with a RosterError."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise RosterError(f"line {reader.reader.line_num}: a field is longer than {csv.field_size_limit():,} "
                                  "characters, the most a roster field may hold; nothing was imported") from None
            raise RosterError(f"line {reader.reader.line_num}: {exc}; nothing was imported") from None


def _parse_row(record: dict[str, str | None], region: str) -> StaffInput:
    def cell(name: str) -> str:
        return (record.get(name) or "").strip()

    name = cell("name")
    if not name:
        raise InvalidContact("name is missing")
    email = normalize_email(cell("email"))
    phone_raw = cell("phone")
    phone = normalize_phone(phone_raw, region) if phone_raw else None
    texts_raw = cell("accepts_texts").lower()
    if texts_raw in _YES:
        accepts = True
    elif texts_raw in _NO:
        accepts = False
    else:
        raise InvalidContact(f"accepts_texts must be yes or no, not {texts_raw!r}")
    method_raw = cell("default_method").lower() or "email"
    try:
        method = DeliveryMethod(method_raw)
    except ValueError:
        raise InvalidContact(f"default_method must be email, sms or both, not {method_raw!r}") from None
    if method is not DeliveryMethod.EMAIL and not (accepts and phone):
        raise InvalidContact(f"default_method {method.value} needs a phone number and accepts_texts=yes")
    return StaffInput(name=name, email=email, phone=phone, accepts_texts=accepts, default_method=method)
