"""Inbound email: received messages say their channel, triage holds emails too, every email that came back is
recorded once (table inbound_email, unique by Message-ID) with its original kept, and staff remember a bounce.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from staff_feed_tui.store.migrations.triggers import create_trigger, drop_trigger

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CHANGE_TRIGGER = """CREATE TRIGGER change_message_update AFTER UPDATE ON message BEGIN
        INSERT INTO change (staff_id, message_id) VALUES (NEW.staff_id, NEW.id); END"""


def upgrade() -> None:
    # Plain ALTER TABLEs: a batch "move and copy" of message would drop its triggers (change log, FTS).
    op.add_column("message", sa.Column("channel", sa.String(), nullable=True))
    op.add_column("inbound_triage", sa.Column("channel", sa.String(), nullable=False, server_default="sms"))
    op.add_column("staff", sa.Column("email_bounced_at", sa.DateTime(), nullable=True))
    # Every received message so far was a text. The change-log trigger is held off for the backfill: no open app
    # needs a change row per old message (and a large database would gain hundreds of thousands).
    drop_trigger("change_message_update", "message")
    op.execute("UPDATE message SET channel = 'sms' WHERE direction = 'in'")
    create_trigger(CHANGE_TRIGGER)
    op.create_table(
        "inbound_email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mail_key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("from_address", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("stored_path", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("triage_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.ForeignKeyConstraint(["triage_id"], ["inbound_triage.id"]),
        sa.ForeignKeyConstraint(["delivery_id"], ["delivery.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mail_key"),
    )
    op.create_index("ix_inbound_email_message_id", "inbound_email", ["message_id"])
    op.create_index("ix_inbound_email_triage_id", "inbound_email", ["triage_id"])


def downgrade() -> None:
    op.drop_index("ix_inbound_email_triage_id", "inbound_email")
    op.drop_index("ix_inbound_email_message_id", "inbound_email")
    op.drop_table("inbound_email")
    op.drop_column("inbound_triage", "channel")
    op.drop_column("staff", "email_bounced_at")
    op.drop_column("message", "channel")
