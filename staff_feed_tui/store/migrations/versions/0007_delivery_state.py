"""Delivery state shared by every process: each channel's pause, and the workers' heartbeats.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_state",
        sa.Column("channel", sa.String(), primary_key=True),
        sa.Column("paused_since", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("retry_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "worker_heartbeat",
        sa.Column("owner", sa.String(), primary_key=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("beat_at", sa.DateTime(), nullable=False),
    )
    # Who put a failed delivery back in the queue (a dispatcher's retry), and when.
    op.execute("ALTER TABLE delivery ADD COLUMN retried_by_id INTEGER REFERENCES dispatcher (id)")
    op.add_column("delivery", sa.Column("retried_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("retried_at")
        batch.drop_column("retried_by_id")
    op.drop_table("worker_heartbeat")
    op.drop_table("channel_state")
