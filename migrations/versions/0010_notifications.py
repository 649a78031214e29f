"""notifications: the notification centre, devices, preferences and quiet hours, staff sends, deliveries,
audience segments, and each user's time zone

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: delivered and not read, the unread count's partial index.
UNREAD = "sent_at IS NOT NULL AND read_at IS NULL AND archived_at IS NULL AND cancelled_at IS NULL"
# Frozen here: this migration's tables with an updated_at column (0002's set_updated_at() keeps it).
UPDATED_AT_TABLES = (
    "devices",
    "notification_preferences",
    "notification_quiet_hours",
    "notification_sends",
    "notification_deliveries",
)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("app_version", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("deactivated_reason", sa.String(length=32), nullable=True),
        sa.Column(
            "last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("platform IN ('ios', 'android', 'web')", name=op.f("ck_devices_platform_allowed")),
        sa.CheckConstraint("length(token) BETWEEN 8 AND 4096", name=op.f("ck_devices_token_length")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_devices_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("platform", "token", name=op.f("uq_devices_platform_token")),
    )
    op.create_index(op.f("ix_devices_user_id"), "devices", ["user_id"], unique=False)
    op.create_table(
        "notification_preferences",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "category IN ('offers', 'rewards', 'account', 'announcements')",
            name=op.f("ck_notification_preferences_category_allowed"),
        ),
        sa.CheckConstraint(
            "channel IN ('in_app', 'push', 'email', 'webhook')",
            name=op.f("ck_notification_preferences_channel_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_preferences")),
        sa.UniqueConstraint(
            "user_id",
            "channel",
            "category",
            name=op.f("uq_notification_preferences_user_id_channel_category"),
        ),
    )
    op.create_table(
        "notification_quiet_hours",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("starts <> ends", name=op.f("ck_notification_quiet_hours_not_empty")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_quiet_hours_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_quiet_hours")),
        sa.UniqueConstraint("user_id", name=op.f("uq_notification_quiet_hours_user_id")),
    )
    op.create_table(
        "notification_sends",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("category", sa.String(length=32), server_default="announcements", nullable=False),
        sa.Column("channels", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("audience_user_ids", postgresql.ARRAY(sa.BigInteger()), nullable=True),
        sa.Column("audience_tier", sa.String(length=16), nullable=True),
        sa.Column("audience_segment", sa.String(length=100), nullable=True),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="scheduled", nullable=False),
        sa.Column("recipients", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "category IN ('offers', 'rewards', 'account', 'announcements')",
            name=op.f("ck_notification_sends_category_allowed"),
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'sending', 'sent', 'cancelled')",
            name=op.f("ck_notification_sends_status_allowed"),
        ),
        sa.CheckConstraint(
            "num_nonnulls(audience_user_ids, audience_tier, audience_segment) = 1",
            name=op.f("ck_notification_sends_one_audience"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_notification_sends_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_sends")),
    )
    op.create_index(
        "ix_notification_sends_status_scheduled_for",
        "notification_sends",
        ["status", "scheduled_for"],
        unique=False,
    )
    op.create_table(
        "segment_members",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("segment", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("segment <> ''", name=op.f("ck_segment_members_segment_named")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_segment_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_members")),
        sa.UniqueConstraint("segment", "user_id", name=op.f("uq_segment_members_segment_user_id")),
    )
    op.create_index(op.f("ix_segment_members_user_id"), "segment_members", ["user_id"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=True),
        sa.Column("send_id", sa.BigInteger(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("deliver_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "category IN ('offers', 'rewards', 'account', 'announcements')",
            name=op.f("ck_notifications_category_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_notifications_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["send_id"],
            ["notification_sends.id"],
            name=op.f("fk_notifications_send_id_notification_sends"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_campaign_id_pending",
        "notifications",
        ["campaign_id"],
        unique=False,
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.create_index(
        "ix_notifications_due",
        "notifications",
        ["deliver_at", "id"],
        unique=False,
        postgresql_where=sa.text("sent_at IS NULL AND cancelled_at IS NULL"),
    )
    op.create_index(
        "ix_notifications_user_id_sent_at_id", "notifications", ["user_id", "sent_at", "id"], unique=False
    )
    op.create_index(
        "ix_notifications_user_id_unread",
        "notifications",
        ["user_id"],
        unique=False,
        postgresql_where=sa.text(UNREAD),
    )
    op.create_index(
        "uq_notifications_campaign_id_user_id",
        "notifications",
        ["campaign_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("campaign_id IS NOT NULL"),
    )
    op.create_index(
        "uq_notifications_send_id_user_id",
        "notifications",
        ["send_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("send_id IS NOT NULL"),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=True),
        sa.Column("delivery_key", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=True),
        sa.Column("provider_id", sa.String(length=255), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "channel IN ('in_app', 'push', 'email', 'webhook')",
            name=op.f("ck_notification_deliveries_channel_allowed"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'rejected', 'cancelled', 'skipped')",
            name=op.f("ck_notification_deliveries_status_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_notification_deliveries_device_id_devices"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_deliveries_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint("delivery_key", name=op.f("uq_notification_deliveries_delivery_key")),
    )
    op.create_index(
        op.f("ix_notification_deliveries_device_id"), "notification_deliveries", ["device_id"], unique=False
    )
    op.create_index(
        "ix_notification_deliveries_status_next_attempt_at",
        "notification_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_index(
        "uq_notification_deliveries_target",
        "notification_deliveries",
        ["notification_id", "channel", sa.literal_column("coalesce(device_id, 0)")],
        unique=True,
    )
    op.add_column(
        "campaigns", sa.Column("send_at_once", sa.Boolean(), server_default="false", nullable=False)
    )
    op.add_column("users", sa.Column("time_zone", sa.String(length=64), nullable=True))
    for table in UPDATED_AT_TABLES:
        op.execute(
            f"CREATE TRIGGER trg_{table}_updated_at BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        )


def downgrade() -> None:
    op.drop_column("users", "time_zone")
    op.drop_column("campaigns", "send_at_once")
    op.drop_index("uq_notification_deliveries_target", table_name="notification_deliveries")
    op.drop_index("ix_notification_deliveries_status_next_attempt_at", table_name="notification_deliveries")
    op.drop_index(op.f("ix_notification_deliveries_device_id"), table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_index(
        "uq_notifications_send_id_user_id",
        table_name="notifications",
        postgresql_where=sa.text("send_id IS NOT NULL"),
    )
    op.drop_index(
        "uq_notifications_campaign_id_user_id",
        table_name="notifications",
        postgresql_where=sa.text("campaign_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_notifications_user_id_unread", table_name="notifications", postgresql_where=sa.text(UNREAD)
    )
    op.drop_index("ix_notifications_user_id_sent_at_id", table_name="notifications")
    op.drop_index(
        "ix_notifications_due",
        table_name="notifications",
        postgresql_where=sa.text("sent_at IS NULL AND cancelled_at IS NULL"),
    )
    op.drop_index(
        "ix_notifications_campaign_id_pending",
        table_name="notifications",
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.drop_table("notifications")
    op.drop_index(op.f("ix_segment_members_user_id"), table_name="segment_members")
    op.drop_table("segment_members")
    op.drop_index("ix_notification_sends_status_scheduled_for", table_name="notification_sends")
    op.drop_table("notification_sends")
    op.drop_table("notification_quiet_hours")
    op.drop_table("notification_preferences")
    op.drop_index(op.f("ix_devices_user_id"), table_name="devices")
    op.drop_table("devices")
