"""Notifications: the in-app notification centre, the devices push goes to, what each person agreed to
receive, the sends staff make to an audience, and every delivery attempt's outcome.

Segments: a campaign's `target_segment` names a segment; `segment_members` says who is in it. A
campaign without a segment targets every customer.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Json, check_in, created_at, identity_pk, updated_at


class Platform(StrEnum):
    IOS = "ios"
    ANDROID = "android"
    WEB = "web"


class Channel(StrEnum):
    IN_APP = "in_app"
    PUSH = "push"
    EMAIL = "email"
    WEBHOOK = "webhook"


class Category(StrEnum):
    """What a notification is about; preferences are per channel and category."""

    OFFERS = "offers"  # campaigns
    REWARDS = "rewards"
    ACCOUNT = "account"  # sign-in, password, erasure: always delivered
    ANNOUNCEMENTS = "announcements"  # staff sends


class SendStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its time or its provider
    SENT = "sent"  # the provider accepted it
    FAILED = "failed"  # retries exhausted
    REJECTED = "rejected"  # the provider refused it for good (an invalid device token)
    CANCELLED = "cancelled"  # its campaign paused or completed first
    SKIPPED = "skipped"  # opted out, no address or device, over the daily cap


class SegmentMember(Base):
    """A person in a named audience segment (`campaigns.target_segment`, a staff send's segment)."""

    __tablename__ = "segment_members"
    __table_args__ = (
        CheckConstraint("segment <> ''", name="segment_named"),
        UniqueConstraint("segment", "user_id"),
    )

    id: Mapped[int] = identity_pk()
    segment: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created_at()


class Device(Base):
    """A push token of a person's phone or browser. A token belongs to one person: registering it again
    (another account signed in on that phone) moves it."""

    __tablename__ = "devices"
    __table_args__ = (
        check_in("platform", Platform),
        UniqueConstraint("platform", "token"),
        CheckConstraint("length(token) BETWEEN 8 AND 4096", name="token_length"),
    )

    id: Mapped[int] = identity_pk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    token: Mapped[str] = mapped_column(Text)
    app_version: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(server_default="true")
    # Why it stopped receiving: "unregistered" (the app), "invalid_token" (the provider said so).
    deactivated_reason: Mapped[str | None] = mapped_column(String(32))
    last_seen_at: Mapped[datetime] = created_at()
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class NotificationPreference(Base):
    """Whether a person receives a category over a channel; no row: the default (on)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        check_in("channel", Channel),
        check_in("category", Category),
        UniqueConstraint("user_id", "channel", "category"),
    )

    id: Mapped[int] = identity_pk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool]
    updated_at: Mapped[datetime] = updated_at()


class QuietHours(Base):
    """A person's quiet hours, in their own time zone: nothing is pushed or mailed from `starts` to
    `ends` (wrapping past midnight when `ends` is earlier); what falls inside waits for `ends`."""

    __tablename__ = "notification_quiet_hours"
    __table_args__ = (CheckConstraint("starts <> ends", name="not_empty"),)

    id: Mapped[int] = identity_pk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    starts: Mapped[time]
    ends: Mapped[time]
    updated_at: Mapped[datetime] = updated_at()


class NotificationSend(Base):
    """A staff member's send to an audience (users, a tier or a segment), now or at a time."""

    __tablename__ = "notification_sends"
    __table_args__ = (
        check_in("status", SendStatus),
        check_in("category", Category),
        # Exactly one audience: a list of users, a loyalty tier, or a segment.
        CheckConstraint(
            "num_nonnulls(audience_user_ids, audience_tier, audience_segment) = 1", name="one_audience"
        ),
        Index("ix_notification_sends_status_scheduled_for", "status", "scheduled_for"),
    )

    id: Mapped[int] = identity_pk()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[Json | None]
    category: Mapped[str] = mapped_column(String(32), server_default=Category.ANNOUNCEMENTS.value)
    # Channel names, checked by the mutation.
    channels: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    audience_user_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    audience_tier: Mapped[str | None] = mapped_column(String(16))
    audience_segment: Mapped[str | None] = mapped_column(String(100))
    scheduled_for: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), server_default=SendStatus.SCHEDULED.value)
    recipients: Mapped[int] = mapped_column(server_default="0")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


# Shown in the centre and not read yet (what the unread count counts).
UNREAD = "sent_at IS NOT NULL AND read_at IS NULL AND archived_at IS NULL AND cancelled_at IS NULL"


class Notification(Base):
    """One message to one person, shown in their notification centre once it is due.

    At most one per (campaign, person) and per (send, person), whatever retries or duplicate starts
    happen: the unique indexes below, not a check before inserting.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        check_in("category", Category),
        Index(
            "uq_notifications_campaign_id_user_id",
            "campaign_id",
            "user_id",
            unique=True,
            postgresql_where=text("campaign_id IS NOT NULL"),
        ),
        Index(
            "uq_notifications_send_id_user_id",
            "send_id",
            "user_id",
            unique=True,
            postgresql_where=text("send_id IS NOT NULL"),
        ),
        # myNotifications: a person's delivered notifications, newest first.
        Index("ix_notifications_user_id_sent_at_id", "user_id", "sent_at", "id"),
        # unreadNotificationCount and the unread filter.
        Index("ix_notifications_user_id_unread", "user_id", postgresql_where=text(UNREAD)),
        # The delivery job's claim: due and not delivered, oldest first.
        Index(
            "ix_notifications_due",
            "deliver_at",
            "id",
            postgresql_where=text("sent_at IS NULL AND cancelled_at IS NULL"),
        ),
        # Campaign cancellation: what has not been delivered yet.
        Index(
            "ix_notifications_campaign_id_pending", "campaign_id", postgresql_where=text("sent_at IS NULL")
        ),
    )

    id: Mapped[int] = identity_pk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    send_id: Mapped[int | None] = mapped_column(ForeignKey("notification_sends.id", ondelete="SET NULL"))
    category: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    # The app's deep link and what it needs to open it: {"link": "swipesavvy://offers/42", ...}.
    data: Mapped[Json | None]
    # When it is due: the person's best hour, moved out of quiet hours.
    deliver_at: Mapped[datetime]
    # When it was delivered: shown in the centre (and announced by notificationReceived) from then on.
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()


class NotificationDelivery(Base):
    """One notification over one channel (and device): its status, attempts and provider's answer.

    `delivery_key` is the stable id every attempt sends (webhook-id, apns-id, Message-ID), so a
    receiver drops the repeats at-least-once delivery makes.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        check_in("channel", Channel),
        check_in("status", DeliveryStatus),
        Index(
            "uq_notification_deliveries_target",
            "notification_id",
            "channel",
            text("coalesce(device_id, 0)"),
            unique=True,
        ),
        Index("ix_notification_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = identity_pk()
    # Indexed by uq_notification_deliveries_target, which starts with it.
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"), index=True)
    delivery_key: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), unique=True, server_default=text("gen_random_uuid()")
    )
    status: Mapped[str] = mapped_column(String(16), server_default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    # A short code (PROVIDER_UNAVAILABLE, INVALID_TOKEN, OPTED_OUT ...), never exception text.
    last_error: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(255))
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
