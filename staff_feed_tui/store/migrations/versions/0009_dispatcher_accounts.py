"""Dispatcher accounts: a dispatcher can be disabled, and has the SSH keys that log in as them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dispatcher", sa.Column("disabled_at", sa.DateTime(), nullable=True))
    op.create_table(
        "dispatcher_key",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dispatcher_id", sa.Integer(), sa.ForeignKey("dispatcher.id"), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False, unique=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("blob", sa.Text(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_dispatcher_key_dispatcher_id", "dispatcher_key", ["dispatcher_id"])


def downgrade() -> None:
    op.drop_index("ix_dispatcher_key_dispatcher_id", "dispatcher_key")
    op.drop_table("dispatcher_key")
    with op.batch_alter_table("dispatcher") as batch:
        batch.drop_column("disabled_at")
