"""Database URLs as an operator writes them, and as they may be shown.

`postgresql://` and `postgres://` (libpq's spellings) are read as `postgresql+psycopg://`, the driver the project
installs. A URL shown anywhere (an error, `doctor`, a log line) goes through `redact_url`, so a password written
into it is never printed.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

POSTGRES_SCHEME = "postgresql+psycopg"
_ALIASES = ("postgresql://", "postgres://")
_SECRET_PARAMS = frozenset({"password", "sslpassword", "passfile"})


def normalize_url(url: str) -> str:
    """The URL with a PostgreSQL alias spelled as the psycopg 3 driver's scheme; anything else unchanged."""
    for alias in _ALIASES:
        if url.startswith(alias):
            return f"{POSTGRES_SCHEME}://{url[len(alias):]}"
    return url


def is_postgres(url: str) -> bool:
    return normalize_url(url).startswith(("postgresql+", "postgresql:"))


def redact_url(url: str) -> str:
    """The URL with any password (in the user part or a query parameter) shown as `***`."""
    base, sep, query = url.partition("?")
    scheme, has_scheme, rest = base.partition("://")
    if has_scheme and "@" in rest:
        # The user part runs to the last '@' (a password may hold '/', ':' or '@' when not escaped).
        userinfo, _, host = rest.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        base = f"{scheme}://{user}{':***' if has_password else ''}@{host}"
    if not sep:
        return base
    pairs = [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(query, keep_blank_values=True)]
    return f"{base}?{urlencode(pairs, safe='*/')}"
