"""Inbound texts: the unknown-senders triage list, a note on messages, and read marks per dispatcher.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from staff_feed_tui.store.migrations.triggers import create_trigger, drop_trigger

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("note", sa.String(), nullable=True))
    op.create_table(
        "inbound_triage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("from_number", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("media", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("assigned_staff_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["dispatcher.id"]),
        sa.ForeignKeyConstraint(["assigned_staff_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("external_id"),
    )
    op.create_table(
        "read_mark",
        sa.Column("dispatcher_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("last_read_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["dispatcher_id"], ["dispatcher.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("dispatcher_id", "staff_id"),
    )
    # Triage changes reach every open app through the change log, as staff id 0 (no staff member).
    create_trigger(
        """CREATE TRIGGER change_triage_insert AFTER INSERT ON inbound_triage BEGIN
           INSERT INTO change (staff_id, message_id) VALUES (0, NULL); END"""
    )
    create_trigger(
        """CREATE TRIGGER change_triage_update AFTER UPDATE ON inbound_triage BEGIN
           INSERT INTO change (staff_id, message_id) VALUES (0, NULL); END"""
    )


def downgrade() -> None:
    drop_trigger("change_triage_insert", "inbound_triage")
    drop_trigger("change_triage_update", "inbound_triage")
    op.drop_table("read_mark")
    op.drop_table("inbound_triage")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("note")
