"""Full-text search: an external-content FTS5 table over message bodies, kept in sync by triggers, back-filled.

On PostgreSQL: `message_search`, the folded words of each body as a tsvector under a GIN index (store/search.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from staff_feed_tui.store.migrations.triggers import is_postgres

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if is_postgres():
        _upgrade_postgres()
        return
    op.execute("CREATE VIRTUAL TABLE message_fts USING fts5(body, content='message', content_rowid='id')")
    op.execute(
        """CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN
           INSERT INTO message_fts(rowid, body) VALUES (NEW.id, NEW.body); END"""
    )
    op.execute(
        """CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN
           INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', OLD.id, OLD.body); END"""
    )
    op.execute(
        """CREATE TRIGGER message_fts_update AFTER UPDATE OF body ON message BEGIN
           INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', OLD.id, OLD.body);
           INSERT INTO message_fts(rowid, body) VALUES (NEW.id, NEW.body); END"""
    )
    # Back-fill every message already there.
    op.execute("INSERT INTO message_fts(message_fts) VALUES ('rebuild')")


def _upgrade_postgres() -> None:
    from staff_feed_tui.store.search import index_messages

    op.execute(
        "CREATE TABLE message_search (message_id INTEGER PRIMARY KEY REFERENCES message (id) ON DELETE CASCADE,"
        " words TSVECTOR NOT NULL)"
    )
    op.execute("CREATE INDEX ix_message_search_words ON message_search USING gin (words)")
    bind = op.get_bind()
    last = 0
    while rows := bind.execute(
        sa.text("SELECT id, body FROM message WHERE id > :last ORDER BY id LIMIT 5000"), {"last": last}
    ).all():
        index_messages(bind, [(row[0], row[1]) for row in rows])
        last = rows[-1][0]


def downgrade() -> None:
    if is_postgres():
        op.execute("DROP TABLE IF EXISTS message_search")
        return
    for name in ("message_fts_insert", "message_fts_delete", "message_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS message_fts")
