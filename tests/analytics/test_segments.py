"""Campaign.segments: each segment's daily rows summed over the range, rates from the sums."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.analytics.support import ADMIN, campaign_gid, date_range, merchant_viewer, running_campaign
from tests.models import factories as f

SEGMENTS = """
query ($id: ID!, $range: DateRangeInput) {
  campaign(id: $id) {
    segments(range: $range) {
      segmentName users retainedUsers impressions clicks conversions revenue
      retentionRate clickThroughRate conversionRate
    }
  }
}
"""
START, END = dt.date(2024, 3, 1), dt.date(2024, 3, 2)


async def _segment(db: AsyncSession, campaign_id: int, name: str, day: dt.date, *counts: int) -> None:
    users, retained, impressions, clicks, conversions = counts
    await f.make_campaign_segment(
        db,
        campaign_id=campaign_id,
        segment_name=name,
        date=day,
        users_count=users,
        retained_users=retained,
        impressions=impressions,
        clicks=clicks,
        conversions=conversions,
        revenue=Decimal(conversions * 10),
    )


async def _campaign_with_segments(db: AsyncSession, **o: object) -> int:
    campaign = await running_campaign(db, **o)
    c = campaign.id
    await _segment(db, c, "young_adults", START, 10, 9, 100, 50, 5)
    await _segment(db, c, "young_adults", END, 90, 9, 900, 10, 1)
    await _segment(db, c, "young_adults", END + dt.timedelta(days=1), 1000, 0, 5000, 5, 0)  # outside
    await _segment(db, c, "families", END, 40, 20, 400, 40, 4)
    return c


async def test_segments_are_summed_over_the_range_by_name(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign_id = await _campaign_with_segments(db)

    result = await gql(
        SEGMENTS, {"id": campaign_gid(campaign_id), "range": date_range(START, END)}, viewer=ADMIN
    )

    assert result.errors is None, result.errors
    families, young = result.data["campaign"]["segments"]
    assert families["segmentName"] == "families" and families["retentionRate"] == pytest.approx(0.5)
    assert (young["users"], young["retainedUsers"], young["impressions"], young["clicks"]) == (
        100,
        18,
        1000,
        60,
    )
    assert (young["conversions"], young["revenue"]) == (6, "60.00")
    # 18 / 100 from the sums, not the mean of 0.9 and 0.1
    assert young["retentionRate"] == pytest.approx(0.18)
    assert young["clickThroughRate"] == pytest.approx(0.06)
    assert young["conversionRate"] == pytest.approx(0.1)


async def test_merchant_cannot_read_segments_of_another_merchants_campaign(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    mine, other = await f.make_merchant(db), await f.make_merchant(db)
    own = await _campaign_with_segments(db, merchant_id=mine.id)
    theirs = await _campaign_with_segments(db, merchant_id=other.id)
    viewer = merchant_viewer(mine.id)
    variables = {"range": date_range(START, END)}

    seen = await gql(SEGMENTS, {**variables, "id": campaign_gid(own)}, viewer=viewer)
    hidden = await gql(SEGMENTS, {**variables, "id": campaign_gid(theirs)}, viewer=viewer)

    assert [s["segmentName"] for s in seen.data["campaign"]["segments"]] == ["families", "young_adults"]
    assert hidden.errors is None and hidden.data["campaign"] is None
