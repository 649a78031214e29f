"""topCampaigns: one aggregate statement ordered by the metric computed from the range's sums."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.viewer import Role, Viewer
from tests.analytics.support import (
    ADMIN,
    ANALYST,
    CUSTOMER,
    SERVICE,
    date_range,
    days,
    merchant_viewer,
    running_campaign,
)
from tests.models import factories as f
from tests.support import codes, counting

TOP = """
query ($metric: CampaignMetric!, $range: DateRangeInput, $first: Int) {
  topCampaigns(metric: $metric, range: $range, first: $first) {
    rank value
    campaign { name }
    performance { impressions clicks conversions revenue spend roas clickThroughRate }
  }
}
"""
D1, D2 = dt.date(2024, 5, 1), dt.date(2024, 5, 2)
RANGE = date_range(D1, D2)
# (impressions, clicks, conversions, revenue, spend) per day. X's ROAS is 10 on day 1 and 0.53 on day 2:
# averaging those (5.26) would put X first; its sums give 200 / 200 = 1.0, below Y's 300 / 250 = 1.2.
ROWS = {
    "X": {D1: (1000, 10, 5, "100.00", "10.00"), D2: (1000, 90, 1, "100.00", "190.00")},
    "Y": {D2: (500, 120, 20, "300.00", "250.00")},
    "Z": {D1: (3000, 30, 3, "50.00", "0.00"), D1 - dt.timedelta(days=1): (0, 0, 0, "99999.00", "1.00")},
}


async def _campaigns(db: AsyncSession, **o: object) -> None:
    for name, rows in ROWS.items():
        campaign = await running_campaign(db, name=name, **o)
        await days(db, campaign.id, rows)


@pytest.mark.parametrize(
    ("metric", "order", "values"),
    [
        ("IMPRESSIONS", "ZXY", [3000, 2000, 500]),
        ("CLICKS", "YXZ", [120, 100, 30]),
        ("CONVERSIONS", "YXZ", [20, 6, 3]),
        ("REVENUE", "YXZ", [300, 200, 50]),
        ("SPEND", "YXZ", [250, 200, 0]),
        ("ROAS", "YXZ", [1.2, 1.0, None]),
        ("CTR", "YXZ", [0.24, 0.05, 0.01]),
        ("CONVERSION_RATE", "YZX", [20 / 120, 0.1, 0.06]),
    ],
)
async def test_campaigns_are_ranked_by_the_metric_of_their_sums(
    db: AsyncSession, gql, metric: str, order: str, values: list[float | None]
) -> None:  # type: ignore[no-untyped-def]
    # given three campaigns with hand-made days
    await _campaigns(db)

    # when ranked over the range
    result = await gql(TOP, {"metric": metric, "range": RANGE}, viewer=ANALYST)

    # then the order and values come from the range's sums (a rate of nothing sorts last, as null)
    assert result.errors is None, result.errors
    ranking = result.data["topCampaigns"]
    assert "".join(r["campaign"]["name"] for r in ranking) == order
    assert [r["rank"] for r in ranking] == [1, 2, 3]
    assert [r["value"] for r in ranking] == [None if v is None else pytest.approx(v) for v in values]


async def test_performance_comes_from_the_same_sums(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _campaigns(db)

    result = await gql(TOP, {"metric": "ROAS", "range": RANGE, "first": 2}, viewer=SERVICE)

    assert result.errors is None, result.errors
    y, x = result.data["topCampaigns"]
    assert x["performance"] == {
        "impressions": 2000,
        "clicks": 100,
        "conversions": 6,
        "revenue": "200.00",
        "spend": "200.00",
        "roas": pytest.approx(1.0),
        "clickThroughRate": pytest.approx(0.05),
    }
    assert y["value"] == y["performance"]["roas"]


async def test_ranking_costs_two_statements_whatever_its_size(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _campaigns(db)

    with counting((await db.connection()).sync_connection) as statements:
        result = await gql(TOP, {"metric": "REVENUE", "range": RANGE}, viewer=ADMIN)

    # the ranking with its sums, then the campaigns by id in one batch
    assert result.errors is None, result.errors
    assert len(result.data["topCampaigns"]) == 3
    assert len(statements) == 2, statements


async def test_merchant_ranks_only_its_own_campaigns(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given the three campaigns belong to another merchant, and one campaign to ours
    mine, other = await f.make_merchant(db), await f.make_merchant(db)
    await _campaigns(db, merchant_id=other.id)
    own = await running_campaign(db, name="Own", merchant_id=mine.id)
    await days(db, own.id, {D1: (10, 1, 1, "5.00", "1.00")})

    result = await gql(TOP, {"metric": "IMPRESSIONS", "range": RANGE}, viewer=merchant_viewer(mine.id))

    assert result.errors is None, result.errors
    assert [(r["campaign"]["name"], r["value"]) for r in result.data["topCampaigns"]] == [("Own", 10)]


async def test_merchant_without_merchant_ranks_nothing(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _campaigns(db)
    result = await gql(
        TOP, {"metric": "CLICKS", "range": RANGE}, viewer=Viewer(role=Role.MERCHANT, user_id=1)
    )
    assert result.errors is None and result.data["topCampaigns"] == []


async def test_first_limits_the_ranking(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _campaigns(db)
    result = await gql(TOP, {"metric": "CLICKS", "range": RANGE, "first": 1}, viewer=ADMIN)
    assert [r["campaign"]["name"] for r in result.data["topCampaigns"]] == ["Y"]


@pytest.mark.parametrize("first", [0, 101, -1])
async def test_first_out_of_bounds_is_bad_user_input(gql, first: int) -> None:  # type: ignore[no-untyped-def]
    result = await gql(TOP, {"metric": "CLICKS", "range": RANGE, "first": first}, viewer=ADMIN)
    assert codes(result) == {"BAD_USER_INPUT"}


async def test_start_after_end_is_bad_user_input(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(TOP, {"metric": "CLICKS", "range": date_range(D2, D1)}, viewer=ADMIN)
    assert codes(result) == {"BAD_USER_INPUT"}


async def test_customers_are_refused(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(TOP, {"metric": "CLICKS"}, viewer=CUSTOMER)
    assert codes(result) == {"FORBIDDEN"}
    assert result.data is None or result.data["topCampaigns"] is None
