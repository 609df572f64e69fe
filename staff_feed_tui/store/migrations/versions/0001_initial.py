"""Initial schema: staff, dispatchers, messages, attachments, deliveries, and the change log with its triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from staff_feed_tui.store.migrations.triggers import create_change_notify, create_trigger, drop_trigger, is_postgres

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Every write that changes what a feed shows adds a row to `change`; the change feed reads rows past its last seq.
TRIGGERS = [
    """CREATE TRIGGER change_message_insert AFTER INSERT ON message BEGIN
        INSERT INTO change (staff_id, message_id) VALUES (NEW.staff_id, NEW.id); END""",
    """CREATE TRIGGER change_message_update AFTER UPDATE ON message BEGIN
        INSERT INTO change (staff_id, message_id) VALUES (NEW.staff_id, NEW.id); END""",
    """CREATE TRIGGER change_delivery_insert AFTER INSERT ON delivery BEGIN
        INSERT INTO change (staff_id, message_id)
        SELECT staff_id, id FROM message WHERE id = NEW.message_id; END""",
    """CREATE TRIGGER change_delivery_update AFTER UPDATE OF status, last_error, attempts ON delivery BEGIN
        INSERT INTO change (staff_id, message_id)
        SELECT staff_id, id FROM message WHERE id = NEW.message_id; END""",
    """CREATE TRIGGER change_staff_update AFTER UPDATE ON staff BEGIN
        INSERT INTO change (staff_id, message_id) VALUES (NEW.id, NULL); END""",
    """CREATE TRIGGER change_staff_insert AFTER INSERT ON staff BEGIN
        INSERT INTO change (staff_id, message_id) VALUES (NEW.id, NULL); END""",
]


def upgrade() -> None:
    op.create_table(
        "change",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "dispatcher",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("accepts_texts", sa.Boolean(), nullable=False),
        sa.Column("sms_opted_out", sa.Boolean(), nullable=False),
        sa.Column("sms_opted_out_at", sa.DateTime(), nullable=True),
        sa.Column("default_method", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_index("ix_staff_name", "staff", ["name"], unique=False)
    op.create_index("ix_staff_phone", "staff", ["phone"], unique=False)
    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["dispatcher.id"]),
        sa.ForeignKeyConstraint(["deleted_by_id"], ["dispatcher.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("external_id"),
    )
    op.create_index("ix_message_feed", "message", ["staff_id", "created_at", "id"], unique=False)
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("mime_type", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("stored_path", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attachment_message_id", "attachment", ["message_id"], unique=False)
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("provider_id", sa.String(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", "channel"),
    )
    op.create_index("ix_delivery_due", "delivery", ["status", "next_attempt_at"], unique=False)
    op.create_index("ix_delivery_provider_id", "delivery", ["provider_id"], unique=False)
    for trigger in TRIGGERS:
        create_trigger(trigger)
    if is_postgres():
        create_change_notify()


def downgrade() -> None:
    for name, table in (
        ("change_message_insert", "message"),
        ("change_message_update", "message"),
        ("change_delivery_insert", "delivery"),
        ("change_delivery_update", "delivery"),
        ("change_staff_update", "staff"),
        ("change_staff_insert", "staff"),
    ):
        drop_trigger(name, table)
    if is_postgres():
        drop_trigger("change_notify", "change")
    op.drop_table("delivery")
    op.drop_table("attachment")
    op.drop_table("message")
    op.drop_table("staff")
    op.drop_table("dispatcher")
    op.drop_table("change")
