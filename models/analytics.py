"""Campaign metrics: per UTC day, per segment and day, and per hour (the trend rows).

Only counts and money are stored. Rates (CTR, conversion rate, ROAS, ROI, AOV) are computed
when read, from sums: stored ratios go stale under increments and cannot be averaged.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigMoney, Money, check_non_negative, created_at, identity_pk, updated_at

COUNTS = ("impressions", "clicks", "conversions", "revenue")


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
    revenue: Mapped[BigMoney] = mapped_column(server_default="0")
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
    revenue: Mapped[BigMoney] = mapped_column(server_default="0")
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
    revenue: Mapped[BigMoney] = mapped_column(server_default="0")
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()
