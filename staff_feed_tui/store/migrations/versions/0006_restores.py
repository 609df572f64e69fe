"""Restores are recorded: who brought a removed message back, and when.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLEs: a batch "move and copy" of message would drop its triggers (change log, FTS).
    op.add_column("message", sa.Column("restored_at", sa.DateTime(), nullable=True))
    op.execute("ALTER TABLE message ADD COLUMN restored_by_id INTEGER REFERENCES dispatcher (id)")


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("restored_by_id")
        batch.drop_column("restored_at")
