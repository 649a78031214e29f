"""platformOverview: the dashboard home page, a few aggregate statements, staff and services only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from core.viewer import Role, Viewer
from resolvers.analytics.reads import platform_overview
from tests.analytics.support import (
    ADMIN,
    LIVE_FROM,
    SERVICE,
    date_range,
    days,
    merchant_viewer,
    running_campaign,
)
from tests.models import factories as f
from tests.support import codes, context, counting

OVERVIEW = """
query ($range: DateRangeInput) {
  platformOverview(range: $range) {
    start end activeCampaigns runningExperiments enabledFlags staleFlags newUsers
    totals {
      impressions clicks conversions revenue spend clickThroughRate conversionRate roas roi averageOrderValue
    }
    topCampaigns { rank value campaign { name } }
  }
}
"""
COUNTS = "query { platformOverview { runningExperiments enabledFlags staleFlags } }"
START, END = dt.date(2024, 3, 1), dt.date(2024, 3, 31)
RANGE = date_range(START, END)


def _at(day: dt.date, hour: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


async def _campaigns(db: AsyncSession, merchant_id: int | None = None) -> None:
    """Seven campaigns, three of them active in March 2024; six with March revenue."""
    m = {"merchant_id": merchant_id}
    running = await running_campaign(db, name="running", **m)
    paused = await f.make_campaign(
        db, name="paused", status="paused", starts_at=_at(END), ends_at=_at(END, 1), **m
    )
    ended = await f.make_campaign(
        db, name="completed", status="completed", starts_at=LIVE_FROM, ends_at=_at(START, 1), **m
    )
    before = await f.make_campaign(
        db, name="completed before", status="completed", starts_at=LIVE_FROM, ends_at=_at(START), **m
    )
    scheduled = await f.make_campaign(
        db, name="scheduled", status="scheduled", starts_at=_at(START), ends_at=_at(END), **m
    )
    archived = await f.make_campaign(
        db, name="archived", status="archived", starts_at=_at(START), ends_at=_at(END), **m
    )
    await f.make_campaign(db, name="draft", **m)
    for i, campaign in enumerate([running, paused, ended, before, scheduled, archived], start=1):
        await days(db, campaign.id, {START: (1000, 100, 10, f"{i * 100}.00", "50.00")})
    await days(db, running.id, {END + dt.timedelta(days=1): (5, 5, 5, "5.00", "5.00")})  # April


async def test_overview_of_hand_made_data(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given the platform-wide counts before our rows
    baseline = (await gql(COUNTS, viewer=ADMIN)).data["platformOverview"]
    await _campaigns(db)
    for status in ("running", "running", "draft", "completed"):
        await f.make_ab_test(db, status=status)
    now = dt.datetime.now(dt.UTC)
    await f.make_feature_flag(db, enabled=True, type="release")
    await f.make_feature_flag(
        db, enabled=True, type="release", created_at=now - dt.timedelta(days=90)
    )  # stale
    await f.make_feature_flag(
        db, enabled=False, type="operational", created_at=now - dt.timedelta(days=8)
    )  # stale
    await f.make_feature_flag(db, enabled=False, type="kill_switch", created_at=now - dt.timedelta(days=900))
    for created in (
        _at(START),
        _at(END, 23),
        _at(END + dt.timedelta(days=1)),
        _at(START) - dt.timedelta(seconds=1),
    ):
        await f.make_user(db, created_at=created)
    await f.make_user(db, created_at=_at(START), role="analyst")

    # when the overview of March 2024 is read
    result = await gql(OVERVIEW, {"range": RANGE}, viewer=ADMIN)

    # then each figure counts exactly the rows its definition names
    assert result.errors is None, result.errors
    o = result.data["platformOverview"]
    assert (o["start"], o["end"]) == ("2024-03-01", "2024-03-31")
    assert o["activeCampaigns"] == 3  # running, paused in range, completed during the range
    assert o["runningExperiments"] == baseline["runningExperiments"] + 2
    assert o["enabledFlags"] == baseline["enabledFlags"] + 2
    assert o["staleFlags"] == baseline["staleFlags"] + 2
    assert o["newUsers"] == 2  # customers created in [1 March 00:00, 1 April 00:00) UTC
    assert o["totals"] == {
        "impressions": 6000,
        "clicks": 600,
        "conversions": 60,
        "revenue": "2100.00",
        "spend": "300.00",
        "clickThroughRate": pytest.approx(0.1),
        "conversionRate": pytest.approx(0.1),
        "roas": pytest.approx(7.0),
        "roi": pytest.approx(6.0),
        "averageOrderValue": "35.00",
    }
    top = o["topCampaigns"]
    assert [t["campaign"]["name"] for t in top] == [
        "archived",
        "scheduled",
        "completed before",
        "completed",
        "paused",
    ]
    assert [t["value"] for t in top] == [600, 500, 400, 300, 200]


async def test_overview_costs_three_statements(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await _campaigns(db)

    with counting((await db.connection()).sync_connection) as statements:
        result = await gql(OVERVIEW, {"range": RANGE}, viewer=SERVICE)

    # figures and totals, the top five, their campaigns
    assert result.errors is None, result.errors
    assert len(statements) == 3, statements


async def test_an_empty_range_has_zero_totals_and_no_rates(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(
        OVERVIEW, {"range": date_range(dt.date(1999, 1, 1), dt.date(1999, 1, 1))}, viewer=ADMIN
    )
    assert result.errors is None, result.errors
    o = result.data["platformOverview"]
    assert o["totals"]["impressions"] == 0 and o["totals"]["revenue"] == "0.00"
    assert o["totals"]["roas"] is None and o["topCampaigns"] == []


@pytest.mark.parametrize("role", [Role.MERCHANT, Role.CUSTOMER, Role.ANONYMOUS])
async def test_platform_wide_figures_are_refused_outside_staff_and_services(gql, role: Role) -> None:  # type: ignore[no-untyped-def]
    viewer = Viewer(role=role, user_id=None if role is Role.ANONYMOUS else 1, merchant_id=1)
    result = await gql(OVERVIEW, {"range": RANGE}, viewer=viewer)
    assert codes(result) == {"FORBIDDEN"}
    assert result.data is None or result.data["platformOverview"] is None


async def test_bad_range_is_bad_user_input(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(OVERVIEW, {"range": date_range(END, START)}, viewer=ADMIN)
    assert codes(result) == {"BAD_USER_INPUT"}


async def test_campaign_figures_apply_the_viewers_visibility_in_sql(
    db: AsyncSession, settings: Settings
) -> None:
    # given our merchant's campaigns and another merchant's
    mine, other = await f.make_merchant(db), await f.make_merchant(db)
    await _campaigns(db, merchant_id=other.id)
    own = await running_campaign(db, merchant_id=mine.id)
    await days(db, own.id, {START: (10, 1, 1, "7.00", "1.00")})

    # when the overview's statement runs for a merchant viewer (the API refuses it, the SQL still scopes it)
    viewer = context(db, settings, merchant_viewer(mine.id))
    o = await platform_overview(context=viewer, start=START, end=END, now=dt.datetime.now(dt.UTC))

    # then its campaign figures cover its own campaign only
    assert o.active_campaigns == 1
    assert (o.totals.impressions, o.totals.revenue) == (10, 7)
