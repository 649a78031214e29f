"""Root analytics reads: campaign rankings and the platform overview, each one aggregate statement.

Every statement applies the viewer's campaign visibility in its SQL, so a merchant's ranking and
totals only ever cover its own campaigns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Numeric, and_, cast, func, or_, select

from core.context import RequestContext
from core.errors import BadUserInput
from loaders.analytics import MetricTotals, day_start, metric_sums, visible_metrics
from loaders.visibility import campaigns_visible_to
from models.analytics import CampaignDailyMetrics
from models.campaigns import Campaign, CampaignStatus
from models.experiments import Experiment, ExperimentStatus
from models.flags import FeatureFlag
from models.users import User, UserRole
from resolvers import rates
from resolvers.flags.lifetimes import stale_condition

DEFAULT_TOP = 10
MAX_TOP = 100
OVERVIEW_TOP = 5
# Statuses a campaign may have had while it was live; with a schedule overlapping the range it was active.
LIVE_STATUSES = (CampaignStatus.RUNNING.value, CampaignStatus.PAUSED.value, CampaignStatus.COMPLETED.value)
COUNTERS = ("impressions", "clicks", "conversions", "revenue", "spend")  # the order of metric_sums


class RankMetric(StrEnum):
    IMPRESSIONS = "impressions"
    CLICKS = "clicks"
    CONVERSIONS = "conversions"
    REVENUE = "revenue"
    SPEND = "spend"
    ROAS = "roas"
    CTR = "ctr"
    CONVERSION_RATE = "conversion_rate"


@dataclass(frozen=True, slots=True)
class CampaignRank:
    campaign_id: int
    value: float | None
    totals: MetricTotals


@dataclass(frozen=True, slots=True)
class Overview:
    active_campaigns: int
    running_experiments: int
    enabled_flags: int
    stale_flags: int
    new_users: int
    totals: MetricTotals


def rank_value(*, metric: RankMetric, totals: MetricTotals) -> float | None:
    """The metric of a campaign's totals; rates from the sums, as the ranking's SQL orders them."""
    t = totals
    match metric:
        case RankMetric.ROAS:
            return rates.roas(revenue=t.revenue, spend=t.spend)
        case RankMetric.CTR:
            return rates.click_through_rate(clicks=t.clicks, impressions=t.impressions)
        case RankMetric.CONVERSION_RATE:
            return rates.conversion_rate(conversions=t.conversions, clicks=t.clicks)
        case _:
            return float(getattr(t, metric.value))


def check_top_size(*, first: int) -> int:
    """The number of campaigns to rank, refused outside 1..MAX_TOP."""
    if not 1 <= first <= MAX_TOP:
        raise BadUserInput(f"`first` must be between 1 and {MAX_TOP}.", field="first")
    return first


def _ratio(numerator: Any, denominator: Any) -> ColumnElement[Any]:
    # NULL when nothing was counted, sorted last: a rate of nothing is unknown, not zero.
    return cast(numerator, Numeric) / func.nullif(denominator, 0)


def _order_by(metric: RankMetric, sums: list[Any]) -> ColumnElement[Any]:
    impressions, clicks, conversions, revenue, spend = sums
    match metric:
        case RankMetric.ROAS:
            return _ratio(revenue, spend)
        case RankMetric.CTR:
            return _ratio(clicks, impressions)
        case RankMetric.CONVERSION_RATE:
            return _ratio(conversions, clicks)
        case _:
            return sums[COUNTERS.index(metric.value)]


async def top_campaigns(
    *, context: RequestContext, metric: RankMetric, start: dt.date, end: dt.date, limit: int
) -> list[CampaignRank]:
    """Return the visible campaigns with daily rows in the range, best first by the metric of their sums."""
    d = CampaignDailyMetrics
    sums = metric_sums(d)
    # ix_campaign_analytics_daily_date serves the range; campaigns without rows in it are not ranked.
    query = (
        select(d.campaign_id, *sums)
        .where(d.date.between(start, end))
        .group_by(d.campaign_id)
        .order_by(_order_by(metric, sums).desc().nulls_last(), d.campaign_id)
        .limit(limit)
    )
    async with context.read_connection() as session:
        rows = await session.execute(visible_metrics(query, context.viewer, d.campaign_id))
    ranks = []
    for campaign_id, *row in rows:
        totals = MetricTotals.from_sums(*row)
        ranks.append(CampaignRank(campaign_id, rank_value(metric=metric, totals=totals), totals))
    return ranks


def _count(model: Any, *where: ColumnElement[bool]) -> Any:
    return select(func.count()).select_from(model).where(*where).scalar_subquery()


async def platform_overview(
    *, context: RequestContext, start: dt.date, end: dt.date, now: dt.datetime
) -> Overview:
    """Return the dashboard's home figures for the range, in one statement."""
    since, until = day_start(start), day_start(end + dt.timedelta(days=1))
    d = CampaignDailyMetrics
    viewer = context.viewer
    totals = visible_metrics(select(*metric_sums(d)).where(d.date.between(start, end)), viewer, d.campaign_id)
    totals_row = totals.subquery("totals")
    # Active: running now, or live at some point of the range (its schedule overlaps [since, until)).
    active = or_(
        Campaign.status == CampaignStatus.RUNNING.value,
        and_(Campaign.status.in_(LIVE_STATUSES), Campaign.starts_at < until, Campaign.ends_at > since),
    )
    query = select(
        _count(Campaign, campaigns_visible_to(viewer), active),
        _count(Experiment, Experiment.status == ExperimentStatus.RUNNING.value),
        _count(FeatureFlag, FeatureFlag.enabled.is_(True)),
        _count(FeatureFlag, stale_condition(now)),
        # ix_users_created_at_id serves the range; staff and merchant accounts are not sign-ups.
        _count(User, User.role == UserRole.CUSTOMER.value, User.created_at >= since, User.created_at < until),
        *totals_row.c,
    )
    async with context.read_connection() as session:
        active_count, experiments, enabled, stale, new_users, *sums = (await session.execute(query)).one()
    return Overview(active_count, experiments, enabled, stale, new_users, MetricTotals.from_sums(*sums))
