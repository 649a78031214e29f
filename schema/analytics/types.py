"""GraphQL types of the analytics domain: metric series and performance summaries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from operator import itemgetter
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from core.context import Ctx
from core.errors import BadUserInput
from core.policies import ANALYTICS_READERS, OVERVIEW_READERS
from loaders.analytics import METRIC_DAY_COLUMNS, Granularity, MetricTotals, SegmentTotals, TrendBucket
from loaders.campaigns import CampaignByIdLoader
from models.analytics import CampaignDailyMetrics
from resolvers import rates
from resolvers.analytics import reads as analytics
from schema.caching.hints import cache_hint
from schema.permissions import allow, type_policy

if TYPE_CHECKING:
    from schema.campaigns.types import Campaign

# Where each column of a day's row is (loaders/analytics.py selects METRIC_DAY_COLUMNS in this order).
_DAY_INDEX = {column.key: index for index, column in enumerate(METRIC_DAY_COLUMNS)}

# Longest range one request may ask for: a year of daily rows per campaign.
MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
# The overview counts users, experiments and flags of the whole platform: not a merchant's business.

TrendGranularity = strawberry.enum(
    Granularity,
    name="TrendGranularity",
    description="Bucket of a trend: UTC hour (hourly rows), UTC day or ISO week (daily rows).",
)
CampaignMetric = strawberry.enum(
    analytics.RankMetric, name="CampaignMetric", description="What campaigns are ranked by."
)


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


@cache_hint(max_age=60)
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
        # A dashboard reads hundreds of days per campaign: the schema gets a view of the row, whose
        # rates are computed only when selected (MetricDay's fields are all plain attributes).
        return DayOfMetrics(row)  # type: ignore[return-value]


class DayOfMetrics(tuple):  # type: ignore[type-arg]
    """A day's row as MetricDay's fields read it (same attribute names), without building a MetricDay:
    the row's values in a tuple, read by C-level accessors, the rates computed only when selected."""

    __slots__ = ()

    def __new__(cls, row: Any) -> DayOfMetrics:
        # A loader's row is a sequence of METRIC_DAY_COLUMNS; a mutation's entity is read by name.
        values = row if isinstance(row, Sequence) else tuple(getattr(row, c.key) for c in METRIC_DAY_COLUMNS)
        return super().__new__(cls, values)

    date = property(itemgetter(_DAY_INDEX["date"]))
    impressions = property(itemgetter(_DAY_INDEX["impressions"]))
    clicks = property(itemgetter(_DAY_INDEX["clicks"]))
    conversions = property(itemgetter(_DAY_INDEX["conversions"]))
    revenue = property(itemgetter(_DAY_INDEX["revenue"]))
    spend = property(itemgetter(_DAY_INDEX["spend"]))

    @property
    def click_through_rate(self) -> float | None:
        return rates.click_through_rate(clicks=self.clicks, impressions=self.impressions)

    @property
    def conversion_rate(self) -> float | None:
        return rates.conversion_rate(conversions=self.conversions, clicks=self.clicks)


@cache_hint(max_age=60)
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


@cache_hint(max_age=60)
@type_policy(ANALYTICS_READERS)
@strawberry.type(description="One bucket of a campaign's trend; rates from the bucket's sums.")
class TrendPoint:
    period: dt.datetime = strawberry.field(description="Start of the hour, day or ISO week (Monday), UTC.")
    impressions: int = strawberry.field(description="Times the campaign was shown.")
    clicks: int = strawberry.field(description="Clicks on the campaign.")
    conversions: int = strawberry.field(description="Purchases or sign-ups attributed to it.")
    revenue: Decimal = strawberry.field(description="Revenue attributed to it.")
    click_through_rate: float | None = strawberry.field(description="clicks / impressions.")
    conversion_rate: float | None = strawberry.field(description="conversions / clicks.")

    @classmethod
    def from_bucket(cls, b: TrendBucket) -> TrendPoint:
        return cls(
            period=b.period,
            impressions=b.impressions,
            clicks=b.clicks,
            conversions=b.conversions,
            revenue=b.revenue,
            click_through_rate=rates.click_through_rate(clicks=b.clicks, impressions=b.impressions),
            conversion_rate=rates.conversion_rate(conversions=b.conversions, clicks=b.clicks),
        )


@cache_hint(max_age=60)
@type_policy(ANALYTICS_READERS)
@strawberry.type(description="A user segment's metrics summed over a range; rates from the sums.")
class SegmentMetrics:
    segment_name: str = strawberry.field(description="Name of the segment.")
    users: int = strawberry.field(description="Sum of the daily segment sizes (user-days).")
    retained_users: int = strawberry.field(description="Sum of the daily retained users.")
    impressions: int = strawberry.field(description="Sum of impressions.")
    clicks: int = strawberry.field(description="Sum of clicks.")
    conversions: int = strawberry.field(description="Sum of conversions.")
    revenue: Decimal = strawberry.field(description="Sum of revenue.")
    retention_rate: float | None = strawberry.field(description="retainedUsers / users.")
    click_through_rate: float | None = strawberry.field(description="clicks / impressions.")
    conversion_rate: float | None = strawberry.field(description="conversions / clicks.")

    @classmethod
    def from_totals(cls, t: SegmentTotals) -> SegmentMetrics:
        return cls(
            segment_name=t.segment_name,
            users=t.users,
            retained_users=t.retained_users,
            impressions=t.impressions,
            clicks=t.clicks,
            conversions=t.conversions,
            revenue=t.revenue,
            retention_rate=rates.retention_rate(retained_users=t.retained_users, users=t.users),
            click_through_rate=rates.click_through_rate(clicks=t.clicks, impressions=t.impressions),
            conversion_rate=rates.conversion_rate(conversions=t.conversions, clicks=t.clicks),
        )


@cache_hint(max_age=60)
@type_policy(ANALYTICS_READERS)
@strawberry.type(description="A campaign's place in a ranking, with the sums it was ranked on.")
class CampaignRanking:
    rank: int = strawberry.field(description="1 for the best.")
    value: float | None = strawberry.field(
        description="The metric, from the range's sums; null when undefined (a rate of nothing)."
    )
    performance: PerformanceSummary | None = strawberry.field(
        description="Totals and rates of the campaign over the range.",
        permission_classes=[allow(ANALYTICS_READERS)],
    )
    campaign_id: strawberry.Private[int]

    @classmethod
    def ranked(
        cls, ranks: list[analytics.CampaignRank], start: dt.date, end: dt.date
    ) -> list[CampaignRanking]:
        return [
            cls(
                rank=i,
                value=r.value,
                performance=PerformanceSummary.from_totals(r.totals, start, end),
                campaign_id=r.campaign_id,
            )
            for i, r in enumerate(ranks, start=1)
        ]

    @classmethod
    async def top(
        cls, info: Ctx, metric: analytics.RankMetric, start: dt.date, end: dt.date, limit: int
    ) -> list[CampaignRanking]:
        """The best `limit` campaigns the viewer may see, by `metric` over the range."""
        ctx = info.context
        ranks = await analytics.top_campaigns(context=ctx, metric=metric, start=start, end=end, limit=limit)
        return cls.ranked(ranks, start, end)

    @strawberry.field(description="The ranked campaign.", permission_classes=[allow(ANALYTICS_READERS)])
    async def campaign(
        self, info: Ctx
    ) -> Annotated[Campaign, strawberry.lazy("schema.campaigns.types")] | None:
        from schema.campaigns.types import Campaign

        row = await info.context.loader(CampaignByIdLoader).load(self.campaign_id)
        return None if row is None else Campaign.from_row(row)


@cache_hint(max_age=60)
@type_policy(OVERVIEW_READERS)
@strawberry.type(description="The dashboard home page: the platform over a range of days.")
class PlatformOverview:
    start: dt.date = strawberry.field(description="First day of the range (UTC).")
    end: dt.date = strawberry.field(description="Last day of the range (UTC).")
    active_campaigns: int = strawberry.field(
        description=(
            "Campaigns running now, or running, paused or completed with a schedule overlapping the range."
        )
    )
    totals: PerformanceSummary | None = strawberry.field(
        description="Sums and rates over every campaign's daily rows in the range.",
        permission_classes=[allow(OVERVIEW_READERS)],
    )
    running_experiments: int = strawberry.field(description="A/B tests running now.")
    enabled_flags: int = strawberry.field(description="Feature flags switched on now.")
    stale_flags: int = strawberry.field(
        description="Feature flags older than their type's expected lifetime."
    )
    new_users: int = strawberry.field(description="Customers who signed up during the range (UTC days).")

    @strawberry.field(
        description=f"The {analytics.OVERVIEW_TOP} campaigns with the most revenue in the range.",
        permission_classes=[allow(OVERVIEW_READERS)],
    )
    async def top_campaigns(self, info: Ctx) -> list[CampaignRanking] | None:
        return await CampaignRanking.top(
            info, analytics.RankMetric.REVENUE, self.start, self.end, analytics.OVERVIEW_TOP
        )
