"""The feed filter, and the query line that types it: `:filter -d 7d -a -c sms -s failed key`.

One place for the filter language: the filter drawer, the query line and `staff-feed feed` all end in a
`FeedFilter`. Parse errors carry the position of the offending token, for an inline message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from staff_feed_tui.core.types import Channel, Direction

STATUSES = ("pending", "delivered", "failed", "bounced")  # failed includes bounced


class FilterSyntaxError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at column {position + 1})")
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class FeedFilter:
    since: datetime | None = None
    until: datetime | None = None
    has_attachments: bool = False
    direction: Direction | None = None
    channel: Channel | None = None
    status: str | None = None  # one of STATUSES
    author: str | None = None
    text: str | None = None

    @property
    def active(self) -> int:
        """How many filters are on: the drawer button reads "3 Filters Applied"."""
        return sum(1 for f in fields(self) if getattr(self, f.name) not in (None, False, ""))

    def label(self) -> str:
        count = self.active
        if not count:
            return "No Filters Applied"
        return f"{count} Filter{'s' if count != 1 else ''} Applied"


_AGO = re.compile(r"^(\d{1,4})([dwm])$")


def parse_when(value: str, now: datetime) -> datetime:
    """`2026-11-01`, `7d`, `2w`, `1m` (30 days), `today` or `yesterday`, as an aware UTC datetime."""
    text = value.strip().lower()
    local_now = now.astimezone()
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    if text == "today":
        return midnight.astimezone(UTC)
    if text == "yesterday":
        return (midnight - timedelta(days=1)).astimezone(UTC)
    match = _AGO.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        days = amount * {"d": 1, "w": 7, "m": 30}[unit]
        return (midnight - timedelta(days=max(0, days - 1))).astimezone(UTC)  # `7d`: today and the 6 days before
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise ValueError(f"not a date: {value!r} (use 2026-11-01, 7d, 2w, today)") from None
    return day.replace(tzinfo=local_now.tzinfo).astimezone(UTC)


def _tokens(line: str) -> list[tuple[str, int]]:
    """Split on spaces, keeping "quoted phrases" whole; each token with its start column."""
    tokens: list[tuple[str, int]] = []
    i = 0
    while i < len(line):
        if line[i].isspace():
            i += 1
            continue
        start = i
        if line[i] == '"':
            end = line.find('"', i + 1)
            if end == -1:
                raise FilterSyntaxError("unclosed quote", start)
            tokens.append((line[start : end + 1], start))
            i = end + 1
            continue
        while i < len(line) and not line[i].isspace():
            i += 1
        tokens.append((line[start:i], start))
    return tokens


_OPTIONS = {
    "-d": "since", "--since": "since", "--from": "since", "--until": "until", "--to": "until",
    "-a": "attachments", "--has-attachments": "attachments", "-r": "direction", "--direction": "direction",
    "-c": "channel", "--channel": "channel", "-s": "status", "--status": "status", "-u": "author",
    "--author": "author",
}
_DIRECTIONS = {"in": Direction.IN, "received": Direction.IN, "out": Direction.OUT, "sent": Direction.OUT}


@dataclass(frozen=True, slots=True)
class FilterValues:
    """A filter as typed, before dates are resolved: what the drawer's fields and the query line both hold.

    `since`/`until` keep the words typed (`7d`, `2026-11-01`), so a saved "last 7 days" stays the last 7 days.
    """

    since: str = ""
    until: str = ""
    has_attachments: bool = False
    direction: str = ""  # "", sent, received
    channel: str = ""  # "", email, sms
    status: str = ""  # "" or one of STATUSES
    author: str = ""
    text: str = ""

    def to_filter(self, now: datetime) -> FeedFilter:
        """Resolve the dates against `now`. Raises ValueError for a date that is not one."""
        values: dict[str, object] = {}
        if self.since.strip():
            values["since"] = parse_when(self.since, now)
        if self.until.strip():
            until = parse_when(self.until, now)
            values["until"] = until + timedelta(days=1) if _is_day(self.until) else until
        if self.has_attachments:
            values["has_attachments"] = True
        if self.direction:
            values["direction"] = _DIRECTIONS[self.direction]
        if self.channel:
            values["channel"] = Channel(self.channel)
        if self.status:
            values["status"] = self.status
        if self.author.strip():
            values["author"] = self.author.strip()
        if self.text.strip():
            values["text"] = self.text.strip()
        return FeedFilter(**values)  # type: ignore[arg-type]

    def to_line(self) -> str:
        """The query line that parses back to these values."""
        parts: list[str] = []
        if self.since.strip():
            parts += ["-d", _quote(self.since.strip())]
        if self.until.strip():
            parts += ["--until", _quote(self.until.strip())]
        if self.has_attachments:
            parts.append("-a")
        if self.direction:
            parts += ["-r", self.direction]
        if self.channel:
            parts += ["-c", self.channel]
        if self.status:
            parts += ["-s", self.status]
        if self.author.strip():
            parts += ["-u", _quote(self.author.strip())]
        if self.text.strip():
            parts.append(self.text.strip())
        return " ".join(parts)


def _quote(value: str) -> str:
    return f'"{value}"' if any(c.isspace() for c in value) else value


_CANONICAL_DIRECTION = {word: "received" if d is Direction.IN else "sent" for word, d in _DIRECTIONS.items()}


def parse_values(line: str, now: datetime) -> FilterValues:
    """Parse a query line (with or without the leading `:filter`) into the values typed. Raises FilterSyntaxError,
    with the column of the offending token; dates are checked against `now` here too."""
    stripped = line.lstrip()
    offset = len(line) - len(stripped)
    if stripped.startswith(":filter"):
        offset += len(":filter")
    body = line[offset:]
    values: dict[str, object] = {}
    words: list[str] = []
    tokens = _tokens(body)
    i = 0
    while i < len(tokens):
        token, at = tokens[i]
        at += offset
        if token.startswith("-") and len(token) > 1 and not token[1:].isdigit():
            name = _OPTIONS.get(token)
            if name is None:
                raise FilterSyntaxError(f"unknown option {token}", at)
            if name == "attachments":
                values["has_attachments"] = True
                i += 1
                continue
            if i + 1 >= len(tokens):
                raise FilterSyntaxError(f"{token} needs a value", at)
            value, value_at = tokens[i + 1]
            value_at += offset
            value = value.strip('"')
            try:
                if name in ("since", "until"):
                    parse_when(value, now)
                    values[name] = value
                elif name == "direction":
                    values["direction"] = _CANONICAL_DIRECTION[value.lower()]
                elif name == "channel":
                    values["channel"] = Channel(value.lower()).value
                elif name == "status":
                    if value.lower() not in STATUSES:
                        raise ValueError
                    values["status"] = value.lower()
                else:
                    values["author"] = value
            except (KeyError, ValueError) as exc:
                expected = {"direction": "sent or received", "channel": "email or sms",
                            "status": "pending, delivered, failed or bounced"}.get(name)
                message = f"{token} takes {expected}, not {value!r}" if expected else str(exc)
                raise FilterSyntaxError(message, value_at) from None
            i += 2
            continue
        words.append(token)
        i += 1
    if words:
        values["text"] = " ".join(words)
    return FilterValues(**values)  # type: ignore[arg-type]


def parse_filter(line: str, now: datetime) -> FeedFilter:
    """Parse a query line into a FeedFilter. Raises FilterSyntaxError."""
    return parse_values(line, now).to_filter(now)


def _is_day(value: str) -> bool:
    """An `--until 2026-11-15` includes that whole day."""
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()))
