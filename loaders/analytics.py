"""Campaign metric loaders. Keys carry the date range, and one statement serves every campaign that
asks for the same range (a dashboard asks the same range for all its rows)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, DateTime, Row, Select, cast, func, select

from core.policies import SEES_EVERY_CAMPAIGN
from core.viewer import Viewer
from loaders.base import Loader, Reader, one_per_key
from loaders.visibility import campaigns_visible_to
from models.analytics import CampaignDailyMetrics, CampaignHourlyTrend, CampaignSegmentMetrics
from models.campaigns import Campaign

RangeKey = tuple[int, dt.date, dt.date]  # (campaign id, first day, last day), days inclusive, UTC
CENT = Decimal("0.01")
# What MetricDay reads of a daily row (campaign_id groups them): never the table's full width.
METRIC_DAY_COLUMNS = (
    CampaignDailyMetrics.id, CampaignDailyMetrics.campaign_id, CampaignDailyMetrics.date,
    CampaignDailyMetrics.impressions, CampaignDailyMetrics.clicks, CampaignDailyMetrics.conversions,
    CampaignDailyMetrics.revenue, CampaignDailyMetrics.spend,
)  # fmt: skip


class Granularity(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


TrendKey = tuple[int, Granularity, dt.date, dt.date]  # (campaign id, granularity, first day, last day)


def money(value: Decimal | int | None) -> Decimal:
    """A money sum as NUMERIC(.., 2) would print it; SUM over no rows is NULL, i.e. zero."""
    return Decimal(value or 0).quantize(CENT)


@dataclass(frozen=True, slots=True)
class MetricTotals:
    impressions: int
    clicks: int
    conversions: int
    revenue: Decimal
    spend: Decimal

    @classmethod
    def zero(cls) -> MetricTotals:
        return cls(0, 0, 0, Decimal("0.00"), Decimal("0.00"))

    @classmethod
    def from_sums(
        cls, impressions: Any, clicks: Any, conversions: Any, revenue: Any, spend: Any
    ) -> MetricTotals:
        return cls(
            int(impressions or 0), int(clicks or 0), int(conversions or 0), money(revenue), money(spend)
        )


@dataclass(frozen=True, slots=True)
class SegmentTotals:
    """A segment's daily rows summed over a range; `users` counts user-days (one user on two days is two)."""

    segment_name: str
    users: int
    retained_users: int
    impressions: int
    clicks: int
    conversions: int
    revenue: Decimal


@dataclass(frozen=True, slots=True)
class TrendBucket:
    period: dt.datetime  # start of the hour, day or ISO week, UTC
    impressions: int
    clicks: int
    conversions: int
    revenue: Decimal


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def metric_sums(table: Any = CampaignDailyMetrics) -> list[Any]:
    """SUM of each counter of the daily table, in MetricTotals order."""
    return [
        func.sum(table.impressions),
        func.sum(table.clicks),
        func.sum(table.conversions),
        func.sum(table.revenue),
        func.sum(table.spend),
    ]


def visible_metrics(query: Select[Any], viewer: Viewer, column: Any) -> Select[Any]:
    """Restrict a metrics query to the campaigns the viewer may see (merchants: their own)."""
    # Who sees every campaign needs no join; others reach metrics only through campaigns they may see.
    if viewer.role in SEES_EVERY_CAMPAIGN:
        return query
    return query.join(Campaign, Campaign.id == column).where(campaigns_visible_to(viewer))


def _by_range(keys: list[RangeKey]) -> dict[tuple[dt.date, dt.date], list[int]]:
    ranges: dict[tuple[dt.date, dt.date], list[int]] = defaultdict(list)
    for campaign_id, start, end in keys:
        ranges[(start, end)].append(campaign_id)
    return ranges


class DailyMetricsByIdLoader(Loader[int, Row | None]):
    """One daily row by its id, if the viewer may see its campaign."""

    async def load_batch(self, session: Reader, keys: list[int]) -> list[Row | None]:
        query = select(*METRIC_DAY_COLUMNS).where(CampaignDailyMetrics.id.in_(keys))
        rows = await session.execute(visible_metrics(query, self.viewer, CampaignDailyMetrics.campaign_id))
        return one_per_key(keys, rows, lambda r: r.id)


class DailyMetricsByCampaignLoader(Loader[RangeKey, list[Row]]):
    # uq_campaign_analytics_daily_campaign_id_date serves (campaign_id = ANY, date BETWEEN).
    async def load_batch(self, session: Reader, keys: list[RangeKey]) -> list[list[Row]]:
        d = CampaignDailyMetrics
        found: dict[RangeKey, list[Row]] = defaultdict(list)
        for (start, end), ids in _by_range(keys).items():
            query = select(*METRIC_DAY_COLUMNS).where(d.campaign_id.in_(ids), d.date.between(start, end))
            query = visible_metrics(query, self.viewer, d.campaign_id).order_by(d.date)
            for row in (await session.execute(query)).all():
                found[(row.campaign_id, start, end)].append(row)
        return [found.get(key, []) for key in keys]


class TotalsByCampaignLoader(Loader[RangeKey, MetricTotals]):
    """Sums of a campaign's daily metrics over a range: the input of every rate."""

    async def load_batch(self, session: Reader, keys: list[RangeKey]) -> list[MetricTotals]:
        d = CampaignDailyMetrics
        found: dict[RangeKey, MetricTotals] = {}
        for (start, end), ids in _by_range(keys).items():
            query = (
                select(d.campaign_id, *metric_sums(d))
                .where(d.campaign_id.in_(ids), d.date.between(start, end))
                .group_by(d.campaign_id)
            )
            for campaign_id, *sums in await session.execute(
                visible_metrics(query, self.viewer, d.campaign_id)
            ):
                found[(campaign_id, start, end)] = MetricTotals.from_sums(*sums)
        return [found.get(key, MetricTotals.zero()) for key in keys]


class SegmentTotalsByCampaignLoader(Loader[RangeKey, list[SegmentTotals]]):
    """Each segment's rows summed over a range, by segment name."""

    # uq_campaign_analytics_segments_campaign_id_segment_name_date serves (campaign_id = ANY, date BETWEEN).
    async def load_batch(self, session: Reader, keys: list[RangeKey]) -> list[list[SegmentTotals]]:
        s = CampaignSegmentMetrics
        found: dict[RangeKey, list[SegmentTotals]] = defaultdict(list)
        for (start, end), ids in _by_range(keys).items():
            query = (
                select(
                    s.campaign_id,
                    s.segment_name,
                    func.sum(s.users_count),
                    func.sum(s.retained_users),
                    func.sum(s.impressions),
                    func.sum(s.clicks),
                    func.sum(s.conversions),
                    func.sum(s.revenue),
                )
                .where(s.campaign_id.in_(ids), s.date.between(start, end))
                .group_by(s.campaign_id, s.segment_name)
                .order_by(s.campaign_id, s.segment_name)
            )
            for campaign_id, name, users, retained, imp, clk, conv, rev in await session.execute(
                visible_metrics(query, self.viewer, s.campaign_id)
            ):
                totals = SegmentTotals(
                    name, int(users), int(retained), int(imp), int(clk), int(conv), money(rev)
                )
                found[(campaign_id, start, end)].append(totals)
        return [found.get(key, []) for key in keys]


def _trend_query(granularity: Granularity, ids: list[int], start: dt.date, end: dt.date) -> Select[Any]:
    if granularity is Granularity.HOUR:
        # uq_campaign_trend_data_campaign_id_period serves (campaign_id = ANY, period in [start, end + 1d)).
        h = CampaignHourlyTrend
        return select(h.campaign_id, h.period, h.impressions, h.clicks, h.conversions, h.revenue).where(
            h.campaign_id.in_(ids),
            h.period >= day_start(start),
            h.period < day_start(end + dt.timedelta(days=1)),
        )
    # Days and weeks come from the daily rows only, never from hourly ones: nothing is counted twice.
    # Truncating a timestamp without time zone keeps the session's TimeZone out of the bucket.
    d = CampaignDailyMetrics
    bucket: Any = d.date
    if granularity is Granularity.WEEK:
        bucket = cast(func.date_trunc("week", cast(d.date, DateTime())), Date())
    return (
        select(d.campaign_id, bucket, *metric_sums(d)[:4])
        .where(d.campaign_id.in_(ids), d.date.between(start, end))
        .group_by(d.campaign_id, bucket)
    )


class TrendByCampaignLoader(Loader[TrendKey, list[TrendBucket]]):
    """A campaign's series by hour (stored hourly rows) or by day or ISO week (summed daily rows)."""

    async def load_batch(self, session: Reader, keys: list[TrendKey]) -> list[list[TrendBucket]]:
        groups: dict[tuple[Granularity, dt.date, dt.date], list[int]] = defaultdict(list)
        for campaign_id, granularity, start, end in keys:
            groups[(granularity, start, end)].append(campaign_id)
        found: dict[TrendKey, list[TrendBucket]] = defaultdict(list)
        for (granularity, start, end), ids in groups.items():
            query = _trend_query(granularity, ids, start, end)
            query = visible_metrics(query, self.viewer, query.selected_columns[0]).order_by(
                query.selected_columns[0], query.selected_columns[1]
            )
            for campaign_id, period, imp, clk, conv, rev in (await session.execute(query)).all():
                start_at = period if isinstance(period, dt.datetime) else day_start(period)
                bucket = TrendBucket(start_at, int(imp), int(clk), int(conv), money(rev))
                found[(campaign_id, granularity, start, end)].append(bucket)
        return [found.get(key, []) for key in keys]
