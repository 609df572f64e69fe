"""Reading a test's database on either engine (SQLite file or PostgreSQL), with `:name` parameters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params)]


def database_env(services: Any) -> dict[str, str]:
    """The environment a child `staff-feed` process needs to open the same database as `services`."""
    url = services.settings.database.url
    return {"STAFF_FEED_DATABASE__URL": url} if url else {}


def database_args(services: Any) -> list[str]:
    """The `--db URL` a `staff-feed` command line needs to open the same database as `services`."""
    url = services.settings.database.url
    return ["--db", url] if url else []
