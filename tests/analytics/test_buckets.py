"""Bucket definitions and range limits of trends, and the SQL that implements them."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import BadUserInput
from loaders.analytics import Granularity, TrendByCampaignLoader
from resolvers.analytics.trends import MAX_HOUR_RANGE_DAYS, bucket_start, check_trend_range
from tests.analytics.support import ADMIN, days, running_campaign

UTC = dt.UTC
NEW_YORK = dt.timezone(dt.timedelta(hours=-5))


@pytest.mark.parametrize(
    ("granularity", "moment", "expected"),
    [
        (
            Granularity.HOUR,
            dt.datetime(2024, 1, 6, 13, 59, 59, tzinfo=UTC),
            dt.datetime(2024, 1, 6, 13, tzinfo=UTC),
        ),
        (Granularity.DAY, dt.datetime(2024, 1, 6, 23, 59, tzinfo=UTC), dt.datetime(2024, 1, 6, tzinfo=UTC)),
        # 21:00 in New York on Sunday is 02:00 UTC on Monday: buckets are UTC.
        (Granularity.DAY, dt.datetime(2024, 1, 7, 21, tzinfo=NEW_YORK), dt.datetime(2024, 1, 8, tzinfo=UTC)),
        (Granularity.WEEK, dt.datetime(2024, 1, 7, 23, tzinfo=UTC), dt.datetime(2024, 1, 1, tzinfo=UTC)),
        (Granularity.WEEK, dt.datetime(2024, 1, 8, 0, tzinfo=UTC), dt.datetime(2024, 1, 8, tzinfo=UTC)),
        # ISO week 2025-W01 starts on Monday 30 December 2024.
        (Granularity.WEEK, dt.datetime(2025, 1, 1, 12, tzinfo=UTC), dt.datetime(2024, 12, 30, tzinfo=UTC)),
    ],
)
def test_bucket_start(granularity: Granularity, moment: dt.datetime, expected: dt.datetime) -> None:
    assert bucket_start(granularity=granularity, moment=moment) == expected


def test_hourly_ranges_are_capped_but_daily_ones_are_not() -> None:
    start = dt.date(2024, 1, 1)
    longest = start + dt.timedelta(days=MAX_HOUR_RANGE_DAYS - 1)
    check_trend_range(granularity=Granularity.HOUR, start=start, end=longest)
    check_trend_range(granularity=Granularity.DAY, start=start, end=longest + dt.timedelta(days=300))
    with pytest.raises(BadUserInput):
        check_trend_range(granularity=Granularity.HOUR, start=start, end=longest + dt.timedelta(days=1))


async def test_sql_week_buckets_are_the_python_definition(db: AsyncSession, context_for) -> None:  # type: ignore[no-untyped-def]
    # given one impression a day for ten weeks that straddle a year end
    start, end = dt.date(2024, 11, 20), dt.date(2025, 1, 28)
    campaign = await running_campaign(db)
    all_days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    await days(db, campaign.id, {day: (1, 0, 0, "0", "0") for day in all_days})

    # when the loader sums them by week
    buckets = await TrendByCampaignLoader(context_for(ADMIN)).load(
        (campaign.id, Granularity.WEEK, start, end)
    )

    # then every bucket holds exactly the days bucket_start puts in it
    expected = Counter(
        bucket_start(granularity=Granularity.WEEK, moment=dt.datetime.combine(d, dt.time(), UTC))
        for d in all_days
    )
    assert {b.period: b.impressions for b in buckets} == dict(expected)
    assert [b.period for b in buckets] == sorted(expected)
