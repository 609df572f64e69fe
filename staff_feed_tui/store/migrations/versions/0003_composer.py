"""Composer: drafts per dispatcher and staff member; deliveries that leave the files to email.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ALTER TABLE: a batch "move and copy" would drop the change-log triggers on delivery.
    op.add_column("delivery", sa.Column("with_files", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_table(
        "draft",
        sa.Column("dispatcher_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachments", sa.String(), nullable=False),
        sa.Column("method", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["dispatcher_id"], ["dispatcher.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("dispatcher_id", "staff_id"),
    )


def downgrade() -> None:
    op.drop_table("draft")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("with_files")
