"""Full-text search: an external-content FTS5 table over message bodies, kept in sync by triggers, back-filled.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
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


def downgrade() -> None:
    for name in ("message_fts_insert", "message_fts_delete", "message_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS message_fts")
