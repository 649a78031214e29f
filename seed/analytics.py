"""Campaign metrics: daily rows, per-segment rows of the latest days, hourly rows of the last days.

Each campaign's daily series comes from its own random source, so each of the three tables is
streamed in its own pass (regenerating the series) instead of holding every campaign's rows in memory.
Only counts and money are stored, kept mutually plausible: clicks <= impressions, conversions <=
clicks, revenue = conversions x an order value, spend > 0 on almost every day.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import NamedTuple

from seed.copy import Loader, Row
from seed.words import SEGMENTS
from seed.world import UTC, CampaignRef, World, money, rng

# Cost per thousand impressions includes the discount or cashback paid out, so a typical campaign
# returns about four dollars per dollar spent, with a wide spread either way.
CPM_CENTS = {"location_deal": 1000, "email_offer": 1200, "push_notification": 1500, "cashback": 1600}
# Click-through and click-to-conversion ranges by type.
CTR = {
    "location_deal": (0.008, 0.025),
    "email_offer": (0.015, 0.040),
    "push_notification": (0.020, 0.060),
    "cashback": (0.010, 0.030),
}
CVR = {"location_deal": (0.03, 0.08), "email_offer": (0.02, 0.06), "push_notification": (0.02, 0.05)}
CVR_CASHBACK = (0.04, 0.10)
WEEKDAY = (0.92, 0.95, 0.97, 1.0, 1.08, 1.15, 1.05)  # Monday first
# Segment: (share of impressions, CTR factor, conversion factor, order-value factor, retention).
SEGMENT_PROFILE = {
    "new_users": (0.30, 0.9, 0.8, 0.9, 0.25),
    "loyal_customers": (0.30, 1.2, 1.3, 1.0, 0.70),
    "high_value": (0.15, 1.1, 1.2, 1.6, 0.60),
    "at_risk": (0.25, 0.7, 0.6, 0.8, 0.15),
}
_DAY_SHAPE = (1, 1, 1, 1, 1, 2, 4, 6, 8, 8, 8, 9, 11, 10, 8, 8, 8, 9, 11, 12, 11, 8, 5, 3)
_PUSH_SHAPE = (1, 1, 1, 1, 1, 1, 3, 5, 6, 6, 7, 9, 16, 9, 6, 6, 7, 9, 12, 16, 12, 7, 4, 2)
_EMAIL_SHAPE = (1, 1, 1, 1, 1, 2, 5, 12, 14, 11, 9, 8, 9, 8, 7, 6, 6, 7, 8, 8, 7, 5, 3, 2)
DIURNAL = {
    "location_deal": _DAY_SHAPE,
    "cashback": _DAY_SHAPE,
    "push_notification": _PUSH_SHAPE,
    "email_offer": _EMAIL_SHAPE,
}


class Day(NamedTuple):
    date: dt.date
    impressions: int
    clicks: int
    conversions: int
    revenue_cents: int
    spend_cents: int


def _days(c: CampaignRef) -> int:
    return (c.last_day - c.first_day).days if c.first_day and c.last_day else 0


def daily_series(ordinal: int, c: CampaignRef) -> list[Day]:
    """The campaign's delivered days; the same campaign ordinal always gives the same series."""
    if not c.first_day or not c.last_day or not c.starts_at or not c.ends_at:
        return []
    r = rng("campaign-metrics", ordinal)
    gauss, uniform, random = r.gauss, r.uniform, r.random
    cpm = CPM_CENTS[c.type] * math.exp(gauss(0.0, 0.2))
    quality = math.exp(gauss(0.0, 0.2))
    ctr = uniform(*CTR[c.type]) * quality
    cvr = uniform(*(CVR_CASHBACK if c.type == "cashback" else CVR[c.type])) * quality
    aov = 4500 * math.exp(gauss(0.0, 0.35))
    start, span = c.starts_at.date(), max(1, (c.ends_at - c.starts_at).days)
    series = []
    for k in range(_days(c)):
        day = c.first_day + dt.timedelta(days=k)
        age = (day - start).days
        pacing = min(1.0, 0.55 + 0.1 * age) * (1.0 - 0.25 * age / span)
        # A day without spend now and then: the budget cap was hit or billing paused; reach is organic.
        spend = 0 if random() < 0.02 else int(c.daily_budget_cents * uniform(0.85, 1.02) * pacing) + 1
        reach = (spend or c.daily_budget_cents * 0.2) * 1000 / cpm
        impressions = int(reach * WEEKDAY[day.weekday()] * math.exp(gauss(0.0, 0.12)))
        clicks = min(impressions, int(impressions * ctr * math.exp(gauss(0.0, 0.1)) + random()))
        conversions = min(clicks, int(clicks * cvr * math.exp(gauss(0.0, 0.15)) + random()))
        revenue = int(conversions * aov * math.exp(gauss(0.0, 0.1)))
        series.append(Day(day, impressions, clicks, conversions, revenue, spend))
    return series


def _stamp(day: dt.date) -> dt.datetime:
    """Rows are written by the nightly job that closes the day."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=UTC)


def _daily_rows(world: World) -> Iterator[Row]:
    for ordinal, c in enumerate(world.campaigns):
        for d in daily_series(ordinal, c):
            stamp = _stamp(d.date)
            yield (
                c.id,
                d.date,
                d.impressions,
                d.clicks,
                d.conversions,
                money(d.revenue_cents),
                money(d.spend_cents),
                stamp,
                stamp,
            )


def _segment_rows(world: World) -> Iterator[Row]:
    days = world.scale.segment_days
    for ordinal, c in enumerate(world.campaigns):
        series = daily_series(ordinal, c)[-days:]
        if not series:
            continue
        r = rng("campaign-segments", ordinal)
        gauss = r.gauss
        profiles = [
            (name, SEGMENT_PROFILE[name], r.uniform(0.7, 1.3), r.uniform(1.3, 2.5)) for name in SEGMENTS
        ]
        for d in series:
            stamp = _stamp(d.date)
            aov = d.revenue_cents / d.conversions if d.conversions else 4500.0
            ctr = d.clicks / d.impressions if d.impressions else 0.0
            cvr = d.conversions / d.clicks if d.clicks else 0.0
            for name, (share, ctr_f, cvr_f, aov_f, retention), tilt, frequency in profiles:
                impressions = int(d.impressions * share * tilt * math.exp(gauss(0.0, 0.08)))
                clicks = min(
                    impressions, int(impressions * ctr * ctr_f * math.exp(gauss(0.0, 0.1)) + r.random())
                )
                conversions = min(clicks, int(clicks * min(1.0, cvr * cvr_f) + r.random()))
                revenue = int(conversions * aov * aov_f * math.exp(gauss(0.0, 0.1)))
                users = int(impressions / frequency)
                retained = min(users, int(users * retention * math.exp(gauss(0.0, 0.1))))
                yield (
                    c.id,
                    name,
                    d.date,
                    users,
                    impressions,
                    clicks,
                    conversions,
                    money(revenue),
                    retained,
                    stamp,
                    stamp,
                )


def _split(total: int, cumulative: list[float]) -> list[int]:
    """`total` spread over the hours; cumulative rounding makes the parts add up to `total` exactly."""
    parts, previous = [], 0
    for c in cumulative:
        current = int(total * c + 0.5)
        parts.append(current - previous)
        previous = current
    return parts


def _trend_rows(world: World) -> Iterator[Row]:
    since = world.today - dt.timedelta(days=world.scale.trend_days)
    hours = [dt.timedelta(hours=h) for h in range(24)]
    for ordinal, c in enumerate(world.campaigns):
        if not c.last_day or c.last_day <= since:
            continue
        r = rng("campaign-trend", ordinal)
        shape = DIURNAL[c.type]
        for d in daily_series(ordinal, c):
            if d.date < since:
                continue
            weights = [w * (0.75 + 0.5 * r.random()) for w in shape]
            total = sum(weights)
            cumulative, running = [], 0.0
            for w in weights:
                running += w
                cumulative.append(running / total)
            cumulative[-1] = 1.0
            midnight = dt.datetime.combine(d.date, dt.time(), tzinfo=UTC)
            impressions = _split(d.impressions, cumulative)
            clicks = _split(d.clicks, cumulative)
            conversions = _split(d.conversions, cumulative)
            for h in range(24):
                i = impressions[h]
                k = min(clicks[h], i)
                n = min(conversions[h], k)
                revenue = d.revenue_cents * n // d.conversions if d.conversions else 0
                period = midnight + hours[h]
                yield (c.id, period, i, k, n, money(revenue), period + hours[1], period + hours[1])


async def write_campaign_analytics(loader: Loader, world: World) -> None:
    days = [_days(c) for c in world.campaigns]
    since = world.today - dt.timedelta(days=world.scale.trend_days)
    trend_days = [
        max(0, (c.last_day - max(since, c.first_day)).days) if c.first_day and c.last_day else 0
        for c in world.campaigns
    ]
    counts = ("impressions", "clicks", "conversions", "revenue")
    stamps = ("created_at", "updated_at")
    await loader.copy(
        "campaign_analytics_daily",
        ("campaign_id", "date", *counts, "spend", *stamps),
        _daily_rows(world),
        total=sum(days),
    )
    await loader.copy(
        "campaign_analytics_segments",
        ("campaign_id", "segment_name", "date", "users_count", *counts, "retained_users", *stamps),
        _segment_rows(world),
        total=sum(len(SEGMENTS) * min(d, world.scale.segment_days) for d in days),
    )
    await loader.copy(
        "campaign_trend_data",
        ("campaign_id", "period", *counts, *stamps),
        _trend_rows(world),
        total=24 * sum(trend_days),
    )
