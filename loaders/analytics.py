"""Campaign metric loaders. Keys carry the date range, and one statement serves every campaign that
asks for the same range (a dashboard asks the same range for all its rows)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loaders.base import Loader
from loaders.visibility import CAMPAIGN_READERS, campaigns_visible_to
from models.analytics import CampaignDailyMetrics
from models.campaigns import Campaign

RangeKey = tuple[int, dt.date, dt.date]  # (campaign id, first day, last day), days inclusive, UTC


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


def _by_range(keys: list[RangeKey]) -> dict[tuple[dt.date, dt.date], list[int]]:
    ranges: dict[tuple[dt.date, dt.date], list[int]] = defaultdict(list)
    for campaign_id, start, end in keys:
        ranges[(start, end)].append(campaign_id)
    return ranges


def _visible(query: Select[Any], loader: Loader[Any, Any], column: Any) -> Select[Any]:
    # Campaign readers reach metrics only through campaigns they may see; others get the join.
    if loader.viewer.role in CAMPAIGN_READERS:
        return query
    return query.join(Campaign, Campaign.id == column).where(campaigns_visible_to(loader.viewer))


class DailyMetricsByCampaignLoader(Loader[RangeKey, list[CampaignDailyMetrics]]):
    # uq_campaign_analytics_daily_campaign_id_date serves (campaign_id = ANY, date BETWEEN).
    async def load_batch(
        self, session: AsyncSession, keys: list[RangeKey]
    ) -> list[list[CampaignDailyMetrics]]:
        found: dict[RangeKey, list[CampaignDailyMetrics]] = defaultdict(list)
        for (start, end), ids in _by_range(keys).items():
            query = select(CampaignDailyMetrics).where(
                CampaignDailyMetrics.campaign_id.in_(ids), CampaignDailyMetrics.date.between(start, end)
            )
            query = _visible(query, self, CampaignDailyMetrics.campaign_id).order_by(
                CampaignDailyMetrics.date
            )
            for row in await session.scalars(query):
                found[(row.campaign_id, start, end)].append(row)
        return [found.get(key, []) for key in keys]


class TotalsByCampaignLoader(Loader[RangeKey, MetricTotals]):
    """Sums of a campaign's daily metrics over a range: the input of every rate."""

    async def load_batch(self, session: AsyncSession, keys: list[RangeKey]) -> list[MetricTotals]:
        d = CampaignDailyMetrics
        found: dict[RangeKey, MetricTotals] = {}
        for (start, end), ids in _by_range(keys).items():
            query = (
                select(
                    d.campaign_id,
                    func.sum(d.impressions),
                    func.sum(d.clicks),
                    func.sum(d.conversions),
                    func.sum(d.revenue),
                    func.sum(d.spend),
                )
                .where(d.campaign_id.in_(ids), d.date.between(start, end))
                .group_by(d.campaign_id)
            )
            for campaign_id, imp, clk, conv, rev, spend in await session.execute(
                _visible(query, self, d.campaign_id)
            ):
                found[(campaign_id, start, end)] = MetricTotals(int(imp), int(clk), int(conv), rev, spend)
        return [found.get(key, MetricTotals.zero()) for key in keys]
