"""The search index on each engine, behind two calls: `text_match` (a WHERE clause) and `latest_matches`.

SQLite: the FTS5 table `message_fts`, kept by triggers (migration 0005). PostgreSQL: `message_search`, one row per
message holding `to_tsvector('simple', …)` of the words `core.fts.search_words` makes of its body, under a GIN
index; rows are written beside each message insert (`index_messages`, and the ORM hook in `models.py`), since a
trigger cannot run the Python that folds the words. Both engines therefore search the same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Boolean, Connection, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement

from staff_feed_tui.core.fts import fts_query, search_words, tsquery
from staff_feed_tui.store.dialects import dialect_of

_INDEX = "INSERT INTO message_search (message_id, words) VALUES (:id, to_tsvector('simple', :words))"


class TextMatch(ColumnElement[bool]):
    """`id_column` is a message whose body matches the search `text` (made safe by core.fts)."""

    type = Boolean()
    inherit_cache = False  # the bound search differs per engine, so the compiled form is not cached

    def __init__(self, id_column: ColumnElement[int], text: str) -> None:
        self.id_column = id_column
        self.text = text


@compiles(TextMatch, "sqlite")
def _sqlite_match(element: TextMatch, compiler, **kw) -> str:  # type: ignore[no-untyped-def]
    match = compiler.process(bindparam(None, fts_query(element.text) or '""', unique=True), **kw)
    column = compiler.process(element.id_column, **kw)
    return f"{column} IN (SELECT rowid FROM message_fts WHERE message_fts MATCH {match})"


@compiles(TextMatch, "postgresql")
def _postgres_match(element: TextMatch, compiler, **kw) -> str:  # type: ignore[no-untyped-def]
    query = compiler.process(bindparam(None, tsquery(element.text) or "''", unique=True), **kw)
    column = compiler.process(element.id_column, **kw)
    return f"{column} IN (SELECT message_id FROM message_search WHERE words @@ to_tsquery('simple', {query}))"


def text_match(id_column: ColumnElement[int], text: str) -> TextMatch:
    return TextMatch(id_column, text)


def latest_matches(connection: Connection, text: str, limit: int) -> list[int]:
    """Ids of the newest messages (not removed) whose body matches `text`, newest first, driven by the index in id
    order and stopping at `limit`."""
    if dialect_of(connection).is_postgres:
        query = tsquery(text)
        sql = (
            "SELECT s.message_id FROM message_search AS s JOIN message AS m ON m.id = s.message_id"
            " WHERE s.words @@ to_tsquery('simple', :q) AND m.deleted_at IS NULL"
            " ORDER BY s.message_id DESC LIMIT :limit"
        )
    else:
        query = fts_query(text)
        sql = (
            "SELECT f.rowid FROM message_fts AS f JOIN message AS m ON m.id = f.rowid"
            " WHERE message_fts MATCH :q AND m.deleted_at IS NULL ORDER BY f.rowid DESC LIMIT :limit"
        )
    if query is None:
        return []
    return [row[0] for row in connection.exec_driver_sql(sql, {"q": query, "limit": limit})]


def index_rows(messages: Iterable[tuple[int, str]]) -> list[dict[str, object]]:
    return [{"id": message_id, "words": " ".join(search_words(body))} for message_id, body in messages]


def index_messages(connection: Connection, messages: Sequence[tuple[int, str]]) -> None:
    """PostgreSQL: add the search rows of messages just inserted as (id, body). Nothing on SQLite (triggers)."""
    dialect = dialect_of(connection)
    if dialect.is_postgres and messages:
        connection.exec_driver_sql(_INDEX, index_rows(messages))  # type: ignore[arg-type]
