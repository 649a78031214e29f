"""recordCampaignEvents by construction: one bad event never sinks the batch, and a day's counters have a
range that the bounded inputs cannot reach within the days a row accepts events."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.analytics import CampaignDailyMetrics, CampaignHourlyTrend, CampaignSegmentMetrics
from resolvers.analytics import writes as ingestion
from resolvers.analytics.events import MAX_EVENT_REVENUE, MAX_EVENTS
from tests.analytics.support import SERVICE, campaign_gid
from tests.analytics.test_ingestion import AT, HOUR, RECORD, event, live_campaign, rows
from tests.models import factories as f

# The largest revenue NUMERIC(14,2) held: the old columns' ceiling.
OLD_CEILING = Decimal("999999999999.99")
OVERVIEW = """
query ($range: DateRangeInput) {
  platformOverview(range: $range) { totals { conversions revenue averageOrderValue } }
  topCampaigns(metric: REVENUE, range: $range, first: 1) { value campaign { id } }
}
"""


def largest(model: type) -> Decimal:
    """The largest value the model's revenue column holds."""
    numeric = model.__table__.c.revenue.type
    return Decimal(10) ** (numeric.precision - numeric.scale) - Decimal(10) ** -numeric.scale


def test_no_day_can_reach_the_end_of_its_columns() -> None:
    # the most one row can gain while it accepts events, at a rate no PostgreSQL reaches
    for model in (CampaignDailyMetrics, CampaignSegmentMetrics, CampaignHourlyTrend):
        assert ingestion.REACHABLE_DAY_REVENUE * 10 < largest(model)
    assert ingestion.REACHABLE_DAY_EVENTS * 10 < 2**63 - 1


async def test_a_campaign_day_full_of_revenue_does_not_sink_the_others_events(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given one campaign whose day already holds the old columns' ceiling, and another campaign
    full, other = await live_campaign(db), await live_campaign(db)
    await f.make_campaign_daily(db, campaign_id=full.id, date=AT.date(), revenue=OLD_CEILING - 1000)

    # when a service's batch carries a big conversion of the first and an impression of the other
    events = [event(full.id, "CONVERSION", revenue="1000000.00"), event(other.id)]
    result = await gql(RECORD, {"input": {"events": events}}, viewer=SERVICE)

    # then both count
    assert result.data["recordCampaignEvents"] == {"accepted": 2, "rejected": 0, "userErrors": []}
    (day,) = await rows(db, CampaignDailyMetrics, full.id)
    await db.refresh(day)
    assert day.revenue == OLD_CEILING - 1000 + Decimal("1000000.00")
    assert len(await rows(db, CampaignDailyMetrics, other.id)) == 1


async def test_a_segment_postgresql_cannot_store_is_refused_at_the_boundary(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # A NUL is refused before any resolver runs (the input boundary), so the request writes nothing.
    campaign = await live_campaign(db)
    events = [event(campaign.id), event(campaign.id, segment="new\x00users"), event(campaign.id, "CLICK")]

    result = await gql(RECORD, {"input": {"events": events}}, viewer=SERVICE)

    assert result.data is None
    assert {e.extensions["code"] for e in result.errors or []} == {"BAD_USER_INPUT"}
    rows = await db.scalar(
        select(func.count())
        .select_from(CampaignDailyMetrics)
        .where(CampaignDailyMetrics.campaign_id == campaign.id)
    )
    assert rows == 0


async def test_the_largest_batches_for_long_enough_keep_every_counter_valid(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a campaign whose day, segment and hour already hold the most they can reach
    campaign = await live_campaign(db)
    start = ingestion.REACHABLE_DAY_REVENUE
    await f.make_campaign_daily(db, campaign_id=campaign.id, date=AT.date(), revenue=start, conversions=1)
    await f.make_campaign_segment(
        db, campaign_id=campaign.id, segment_name="s", date=AT.date(), revenue=start, conversions=1
    )
    await f.make_campaign_trend(db, campaign_id=campaign.id, period=HOUR, revenue=start, conversions=1)

    # when a service keeps sending the largest batch there is: 500 conversions of the largest revenue
    biggest = [event(campaign.id, "CONVERSION", revenue=str(MAX_EVENT_REVENUE), segment="s")] * MAX_EVENTS
    batches = 5
    for _ in range(batches):
        result = await gql(RECORD, {"input": {"events": biggest}}, viewer=SERVICE)
        assert result.data["recordCampaignEvents"]["accepted"] == MAX_EVENTS

    # then every table holds the exact sum
    added = MAX_EVENT_REVENUE * MAX_EVENTS * batches
    for model in (CampaignDailyMetrics, CampaignSegmentMetrics, CampaignHourlyTrend):
        (row,) = await rows(db, model, campaign.id)
        await db.refresh(row)
        assert (row.revenue, row.conversions) == (start + added, 1 + MAX_EVENTS * batches)
    # and the dashboards read it
    day = AT.date().isoformat()
    read = await gql(OVERVIEW, {"range": {"start": day, "end": day}}, viewer=SERVICE)
    assert read.errors is None, read.errors
    assert Decimal(read.data["platformOverview"]["totals"]["revenue"]) == start + added
    assert read.data["topCampaigns"][0]["campaign"]["id"] == campaign_gid(campaign.id)
