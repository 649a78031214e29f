"""Campaign.trend: HOUR from the hourly rows, DAY and WEEK summed from the daily rows only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.analytics.support import ADMIN, campaign_gid, date_range, days, merchant_viewer, running_campaign
from tests.models import factories as f
from tests.support import codes, counting

TREND = """
query ($id: ID!, $granularity: TrendGranularity!, $range: DateRangeInput) {
  campaign(id: $id) {
    trend(granularity: $granularity, range: $range) {
      period impressions clicks conversions revenue clickThroughRate conversionRate
    }
  }
}
"""
CAMPAIGNS_TREND = """
query ($range: DateRangeInput!) {
  campaigns(first: 10) {
    edges { node { name trend(granularity: DAY, range: $range) { period impressions } } }
  }
}
"""
# Friday 5 January 2024 to Tuesday 9 January: three days of the ISO week of Monday 1 January, two of the next.
START, END = dt.date(2024, 1, 5), dt.date(2024, 1, 9)
DAILY = {
    dt.date(2024, 1, 5): (100, 50, 5, "10.00", "1.00"),
    dt.date(2024, 1, 6): (900, 10, 1, "20.00", "2.00"),
    dt.date(2024, 1, 7): (300, 30, 3, "30.00", "3.00"),
    dt.date(2024, 1, 8): (400, 40, 4, "40.00", "4.00"),
    dt.date(2024, 1, 9): (500, 50, 5, "50.00", "5.00"),
    dt.date(2024, 1, 10): (9999, 999, 99, "999.00", "9.00"),  # after the range
}
HOURS = {
    dt.datetime(2024, 1, 4, 23, tzinfo=dt.UTC): 70,  # before the range
    dt.datetime(2024, 1, 6, 0, tzinfo=dt.UTC): 7,
    dt.datetime(2024, 1, 6, 13, tzinfo=dt.UTC): 8,
    dt.datetime(2024, 1, 9, 23, tzinfo=dt.UTC): 9,
    dt.datetime(2024, 1, 10, 0, tzinfo=dt.UTC): 90,  # the first hour after the range
}


def _utc(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time(), dt.UTC).isoformat()


async def _campaign(db: AsyncSession, **o: object) -> int:
    campaign = await running_campaign(db, **o)
    await days(db, campaign.id, DAILY)
    for period, impressions in HOURS.items():
        # Hourly rows that do not add up to the daily ones: DAY and WEEK must not see them.
        await f.make_campaign_trend(
            db,
            campaign_id=campaign.id,
            period=period,
            impressions=impressions,
            clicks=1,
            revenue=Decimal("1"),
        )
    return campaign.id


async def _trend(gql, campaign_id: int, granularity: str, start=START, end=END, viewer=ADMIN):  # type: ignore[no-untyped-def]
    variables = {"id": campaign_gid(campaign_id), "granularity": granularity, "range": date_range(start, end)}
    return await gql(TREND, variables, viewer=viewer)


async def test_day_series_is_the_daily_rows_of_the_range(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given daily rows around the range and hourly rows that disagree with them
    campaign_id = await _campaign(db)

    # when the DAY series is read
    result = await _trend(gql, campaign_id, "DAY")

    # then it holds the range's daily rows exactly, untouched by the hourly rows
    assert result.errors is None, result.errors
    points = result.data["campaign"]["trend"]
    assert [p["period"] for p in points] == [_utc(START + dt.timedelta(days=i)) for i in range(5)]
    assert [p["impressions"] for p in points] == [100, 900, 300, 400, 500]
    assert points[0]["revenue"] == "10.00"


async def test_week_series_sums_its_days_and_rates_come_from_the_sums(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign_id = await _campaign(db)

    week = await _trend(gql, campaign_id, "WEEK")
    day = await _trend(gql, campaign_id, "DAY")

    # then each ISO week (from Monday) is the sum of the range's days in it
    assert week.errors is None, week.errors
    first, second = week.data["campaign"]["trend"]
    assert first["period"] == _utc(dt.date(2024, 1, 1)) and second["period"] == _utc(dt.date(2024, 1, 8))
    days_ = day.data["campaign"]["trend"]
    assert first["impressions"] == sum(p["impressions"] for p in days_[:3]) == 1300
    assert second["impressions"] == sum(p["impressions"] for p in days_[3:]) == 900
    assert (first["clicks"], first["conversions"], first["revenue"]) == (90, 9, "60.00")
    # 90 / 1300 from the sums, not the mean of 0.5, 0.011 and 0.1
    assert first["clickThroughRate"] == pytest.approx(90 / 1300)
    assert first["conversionRate"] == pytest.approx(9 / 90)


async def test_hour_series_is_the_hourly_rows_of_the_utc_days(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign_id = await _campaign(db)

    result = await _trend(gql, campaign_id, "HOUR")

    # then only hours in [start 00:00, end + 1 day 00:00) UTC, oldest first
    assert result.errors is None, result.errors
    points = result.data["campaign"]["trend"]
    assert [(p["period"], p["impressions"]) for p in points] == [
        ("2024-01-06T00:00:00+00:00", 7),
        ("2024-01-06T13:00:00+00:00", 8),
        ("2024-01-09T23:00:00+00:00", 9),
    ]
    assert points[0]["clickThroughRate"] == pytest.approx(1 / 7)
    assert points[0]["conversionRate"] == 0.0


async def test_weeks_across_a_year_boundary_start_on_iso_mondays(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given days either side of New Year 2025 (Monday 30 December 2024 opens ISO week 2025-W01)
    campaign = await running_campaign(db)
    await days(
        db,
        campaign.id,
        {
            dt.date(2024, 12, 29): (1, 0, 0, "0", "0"),
            dt.date(2024, 12, 30): (2, 0, 0, "0", "0"),
            dt.date(2025, 1, 1): (4, 0, 0, "0", "0"),
            dt.date(2025, 1, 5): (8, 0, 0, "0", "0"),
            dt.date(2025, 1, 6): (16, 0, 0, "0", "0"),
        },
    )

    result = await _trend(gql, campaign.id, "WEEK", dt.date(2024, 12, 1), dt.date(2025, 1, 31))

    assert result.errors is None, result.errors
    assert [(p["period"], p["impressions"]) for p in result.data["campaign"]["trend"]] == [
        (_utc(dt.date(2024, 12, 23)), 1),
        (_utc(dt.date(2024, 12, 30)), 14),
        (_utc(dt.date(2025, 1, 6)), 16),
    ]


async def test_a_campaign_without_rows_has_an_empty_series(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await running_campaign(db)
    result = await _trend(gql, campaign.id, "WEEK")
    assert result.errors is None and result.data["campaign"]["trend"] == []


@pytest.mark.parametrize(
    ("granularity", "start", "end", "message"),
    [
        ("DAY", dt.date(2024, 1, 9), dt.date(2024, 1, 5), "after"),
        ("HOUR", dt.date(2024, 1, 1), dt.date(2024, 2, 1), "31 days"),
        ("WEEK", dt.date(2023, 1, 1), dt.date(2024, 1, 5), "366 days"),
    ],
)
async def test_bad_ranges_are_bad_user_input(
    db: AsyncSession, gql, granularity: str, start: dt.date, end: dt.date, message: str
) -> None:  # type: ignore[no-untyped-def]
    campaign = await running_campaign(db)
    result = await _trend(gql, campaign.id, granularity, start, end)
    assert codes(result) == {"BAD_USER_INPUT"}
    assert message in result.errors[0].message


async def test_hour_range_of_31_days_is_allowed(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await running_campaign(db)
    result = await _trend(gql, campaign.id, "HOUR", dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert result.errors is None, result.errors


async def test_merchant_reads_the_trend_of_its_campaign_only(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    mine, other = await f.make_merchant(db), await f.make_merchant(db)
    own = await _campaign(db, merchant_id=mine.id)
    theirs = await _campaign(db, merchant_id=other.id)

    seen = await _trend(gql, own, "WEEK", viewer=merchant_viewer(mine.id))
    hidden = await _trend(gql, theirs, "WEEK", viewer=merchant_viewer(mine.id))

    assert [p["impressions"] for p in seen.data["campaign"]["trend"]] == [1300, 900]
    assert hidden.errors is None and hidden.data["campaign"] is None


async def test_three_campaigns_day_trends_cost_one_statement(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given three campaigns with daily rows
    for _ in range(3):
        await _campaign(db)

    # when a list asks each one's DAY trend over the same range
    with counting((await db.connection()).sync_connection) as statements:
        result = await gql(CAMPAIGNS_TREND, {"range": date_range(START, END)}, viewer=ADMIN)

    # then one statement for the page and one for all three series
    assert result.errors is None, result.errors
    assert [len(e["node"]["trend"]) for e in result.data["campaigns"]["edges"]] == [5, 5, 5]
    assert len(statements) == 2, statements
