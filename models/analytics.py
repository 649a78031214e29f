"""Campaign metrics: per UTC day, per segment and day, and per hour (the trend rows).

Only counts and money are stored. Rates (CTR, conversion rate, ROAS, ROI, AOV) are computed
when read, from sums: stored ratios go stale under increments and cannot be averaged.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, check_in, check_non_negative, created_at, identity_pk, updated_at

COUNTS = ("impressions", "clicks", "conversions", "revenue")


def revenue_sum() -> Mapped[Decimal]:
    """A row's summed revenue: NUMERIC(24,2), up to 10^22 - 0.01, which no row can reach.

    Revenue comes only from trusted sources, at most 1,000,000.00 per event and 500 events per call
    (resolvers/analytics/writes.py). A row takes events for at most 8 days and 5 minutes (its day, the
    7 days events may be late and the 5 minutes they may be early: about 691,500 s), and the calls
    that touch one row take its lock in turn, one commit after the other. Even at a million commits a
    second on one row (a commit waits for its WAL flush; PostgreSQL manages thousands, not millions),
    a row gains at most 1e6 * 500 * 1e6 * 691,500 = 3.5e20, under 1/28 of the range. The counts are
    BIGINT: 500 * 1e6 * 691,500 = 3.5e17 events, 1/26 of 2^63. So the sums are never refused late.
    """
    return mapped_column(Numeric(24, 2), server_default="0")


class CampaignDailyMetrics(Base):
    __tablename__ = "campaign_analytics_daily"
    __table_args__ = (
        UniqueConstraint("campaign_id", "date"),
        *check_non_negative(*COUNTS, "spend"),
    )

    id: Mapped[int] = identity_pk()
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(index=True)
    impressions: Mapped[int] = mapped_column(server_default="0")
    clicks: Mapped[int] = mapped_column(server_default="0")
    conversions: Mapped[int] = mapped_column(server_default="0")
    revenue: Mapped[Decimal] = revenue_sum()
    # Recorded by marketers or the service role; needed for ROAS and ROI.
    spend: Mapped[Money] = mapped_column(server_default="0")
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()


class CampaignSegmentMetrics(Base):
    __tablename__ = "campaign_analytics_segments"
    __table_args__ = (
        UniqueConstraint("campaign_id", "segment_name", "date"),
        *check_non_negative("users_count", *COUNTS, "retained_users"),
        CheckConstraint("retained_users <= users_count", name="retained_within_users"),
        Index("ix_campaign_analytics_segments_segment_name_date", "segment_name", "date"),
    )

    id: Mapped[int] = identity_pk()
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    segment_name: Mapped[str] = mapped_column(String(100))
    date: Mapped[dt.date]
    users_count: Mapped[int] = mapped_column(server_default="0")
    impressions: Mapped[int] = mapped_column(server_default="0")
    clicks: Mapped[int] = mapped_column(server_default="0")
    conversions: Mapped[int] = mapped_column(server_default="0")
    revenue: Mapped[Decimal] = revenue_sum()
    # Users of the segment still active after the campaign; retention rate = retained_users / users_count.
    retained_users: Mapped[int] = mapped_column(server_default="0")
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()


class CampaignHourlyTrend(Base):
    """Hourly rows only: day and week series are summed from campaign_analytics_daily, so no row
    is ever counted at two granularities."""

    __tablename__ = "campaign_trend_data"
    __table_args__ = (
        UniqueConstraint("campaign_id", "period"),
        *check_non_negative(*COUNTS),
        CheckConstraint("period = date_trunc('hour', period, 'UTC')", name="period_on_the_hour"),
        Index("ix_campaign_trend_data_period", "period"),
    )

    id: Mapped[int] = identity_pk()
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    period: Mapped[dt.datetime]
    impressions: Mapped[int] = mapped_column(server_default="0")
    clicks: Mapped[int] = mapped_column(server_default="0")
    conversions: Mapped[int] = mapped_column(server_default="0")
    revenue: Mapped[Decimal] = revenue_sum()
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()


class CampaignEventReceipt(Base):
    """An event kept from a reporter that gave its own id, or from a customer's device.

    What makes two rules hold: a retry with the same `client_event_id` counts once (the UNIQUE
    constraint, per reporter: "user:12", "api_key:3", "service"), and a customer's device reports a
    bounded number of events per campaign and UTC day (counted here, by `user_id`). Service events
    without an id leave no row. A receipt matters only while events of its day are accepted (7 days
    late at most): `prune_receipts` deletes older ones.
    """

    __tablename__ = "campaign_event_receipts"
    __table_args__ = (
        UniqueConstraint("reporter", "client_event_id"),
        # The per-user bound counts one user's receipts of the batch's campaign-days.
        Index("ix_campaign_event_receipts_user_id_campaign_id_date", "user_id", "campaign_id", "date"),
    )

    id: Mapped[int] = identity_pk()
    reporter: Mapped[str] = mapped_column(String(40))
    # The reporter's own id of the event (a UUID, say); NULL never clashes with another.
    client_event_id: Mapped[str | None] = mapped_column(String(64))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # The customer the event is attributed to; NULL for services.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The UTC day the event happened (the metrics row it counted in); pruning reads it.
    date: Mapped[dt.date] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = created_at()


class PendingCampaignEvent(Base):
    """An accepted event not yet folded into the counters: written by `recordCampaignEvents` (one
    multi-row INSERT, no row shared with another batch), deleted by the fold that counts it.

    No foreign key to campaigns: checking one would take a share lock on the campaign's row per event,
    which every batch would queue behind again. The fold skips events whose campaign was deleted.
    """

    __tablename__ = "campaign_events_pending"
    __table_args__ = (check_in("type", ("impression", "click", "conversion")),)

    id: Mapped[int] = identity_pk()
    campaign_id: Mapped[int]
    type: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[dt.datetime]
    segment: Mapped[str | None] = mapped_column(String(100))
    revenue: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    received_at: Mapped[dt.datetime] = created_at()


class CampaignEventLog(Base):
    """Every folded event, appended by the fold in the transaction that counted it; never updated.

    Partitioned by the UTC day it happened (`day`), so retention drops a day's partition whole
    (resolvers/analytics/event_partitions.py); a default partition catches a day nobody created.
    """

    __tablename__ = "campaign_events"
    __table_args__ = {"postgresql_partition_by": "RANGE (day)"}

    # The pending row's id: the log has no key of its own (a partitioned table's would need `day`).
    event_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    campaign_id: Mapped[int]
    type: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[dt.datetime]
    segment: Mapped[str | None] = mapped_column(String(100))
    revenue: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    received_at: Mapped[dt.datetime]
    folded_at: Mapped[dt.datetime] = created_at()
