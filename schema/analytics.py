"""GraphQL types of the analytics domain: metric series and performance summaries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from core.errors import BadUserInput
from core.viewer import STAFF, Role
from loaders.analytics import MetricTotals
from models.analytics import CampaignDailyMetrics
from resolvers import rates
from schema.permissions import type_policy

# Longest range one request may ask for: a year of daily rows per campaign.
MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
ANALYTICS_READERS = STAFF | {Role.MERCHANT, Role.SERVICE}


@strawberry.input(description="Days from `start` to `end`, both included (UTC).")
class DateRangeInput:
    start: dt.date = strawberry.field(description="First day.")
    end: dt.date = strawberry.field(description="Last day.")


def resolve_range(value: DateRangeInput | None, *, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The validated range; by default the last 30 days up to today (UTC)."""
    if value is None:
        end = today or dt.datetime.now(dt.UTC).date()
        return end - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1), end
    if value.start > value.end:
        raise BadUserInput("`start` must not be after `end`.", field="range")
    if (value.end - value.start).days + 1 > MAX_RANGE_DAYS:
        raise BadUserInput(f"A range may span at most {MAX_RANGE_DAYS} days.", field="range")
    return value.start, value.end


@type_policy(ANALYTICS_READERS)
@strawberry.type(description="One UTC day of a campaign's metrics.")
class MetricDay:
    date: dt.date = strawberry.field(description="The day (UTC).")
    impressions: int = strawberry.field(description="Times the campaign was shown.")
    clicks: int = strawberry.field(description="Clicks on the campaign.")
    conversions: int = strawberry.field(description="Purchases or sign-ups attributed to it.")
    revenue: Decimal = strawberry.field(description="Revenue attributed to it.")
    spend: Decimal = strawberry.field(description="Money spent on it that day.")
    click_through_rate: float | None = strawberry.field(description="clicks / impressions.")
    conversion_rate: float | None = strawberry.field(description="conversions / clicks.")

    @classmethod
    def from_row(cls, row: CampaignDailyMetrics) -> MetricDay:
        return cls(
            date=row.date,
            impressions=row.impressions,
            clicks=row.clicks,
            conversions=row.conversions,
            revenue=row.revenue,
            spend=row.spend,
            click_through_rate=rates.click_through_rate(clicks=row.clicks, impressions=row.impressions),
            conversion_rate=rates.conversion_rate(conversions=row.conversions, clicks=row.clicks),
        )


@type_policy(ANALYTICS_READERS)
@strawberry.type(description="Totals over a range and the rates computed from them (never averaged).")
class PerformanceSummary:
    start: dt.date = strawberry.field(description="First day of the range.")
    end: dt.date = strawberry.field(description="Last day of the range.")
    impressions: int = strawberry.field(description="Sum of impressions.")
    clicks: int = strawberry.field(description="Sum of clicks.")
    conversions: int = strawberry.field(description="Sum of conversions.")
    revenue: Decimal = strawberry.field(description="Sum of revenue.")
    spend: Decimal = strawberry.field(description="Sum of spend.")
    click_through_rate: float | None = strawberry.field(description="clicks / impressions.")
    conversion_rate: float | None = strawberry.field(description="conversions / clicks.")
    roas: float | None = strawberry.field(description="Return on ad spend: revenue / spend.")
    roi: float | None = strawberry.field(description="Return on investment: (revenue - spend) / spend.")
    average_order_value: Decimal | None = strawberry.field(description="revenue / conversions.")

    @classmethod
    def from_totals(cls, totals: MetricTotals, start: dt.date, end: dt.date) -> PerformanceSummary:
        t = totals
        return cls(
            start=start,
            end=end,
            impressions=t.impressions,
            clicks=t.clicks,
            conversions=t.conversions,
            revenue=t.revenue,
            spend=t.spend,
            click_through_rate=rates.click_through_rate(clicks=t.clicks, impressions=t.impressions),
            conversion_rate=rates.conversion_rate(conversions=t.conversions, clicks=t.clicks),
            roas=rates.roas(revenue=t.revenue, spend=t.spend),
            roi=rates.roi(revenue=t.revenue, spend=t.spend),
            average_order_value=rates.average_order_value(revenue=t.revenue, conversions=t.conversions),
        )


@strawberry.type
class AnalyticsQuery:
    pass
