"""Each analytics loader serves several keys with one statement per distinct range (and granularity)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from loaders.analytics import (
    DailyMetricsByCampaignLoader,
    DailyMetricsByIdLoader,
    Granularity,
    SegmentTotalsByCampaignLoader,
    TotalsByCampaignLoader,
    TrendByCampaignLoader,
)
from tests.analytics.support import ADMIN, days, merchant_viewer, running_campaign
from tests.models import factories as f
from tests.support import counting, load_counted

D1, D2, D3 = dt.date(2024, 6, 3), dt.date(2024, 6, 4), dt.date(2024, 6, 10)


async def _three_campaigns(db: AsyncSession, **o: object) -> list[int]:
    ids = []
    for n in (1, 2, 3):
        campaign = await running_campaign(db, **o)
        await days(
            db,
            campaign.id,
            {D1: (n, 0, 0, "0", "0"), D2: (10 * n, 0, 0, "0", "0"), D3: (100, 0, 0, "0", "0")},
        )
        await f.make_campaign_segment(db, campaign_id=campaign.id, date=D1, users_count=n, segment_name="a")
        await f.make_campaign_segment(db, campaign_id=campaign.id, date=D2, users_count=n, segment_name="b")
        await f.make_campaign_trend(
            db, campaign_id=campaign.id, period=dt.datetime.combine(D1, dt.time(5), dt.UTC), impressions=n
        )
        ids.append(campaign.id)
    return ids


async def test_trend_loader_one_statement_per_granularity_and_range(db: AsyncSession, context_for) -> None:  # type: ignore[no-untyped-def]
    ids = await _three_campaigns(db)
    loader = TrendByCampaignLoader(context_for(ADMIN))
    keys = [(i, g, D1, D3) for g in Granularity for i in ids] + [(i, Granularity.DAY, D1, D2) for i in ids]

    with counting((await db.connection()).sync_connection) as statements:
        series = await loader.load_many(keys)

    # three granularities over one range, DAY over another: four statements for twelve keys, in key order
    assert len(statements) == 4, statements
    hours, day_series, weeks, short = series[0:3], series[3:6], series[6:9], series[9:12]
    assert [[b.impressions for b in s] for s in hours] == [[1], [2], [3]]
    assert [[b.impressions for b in s] for s in day_series] == [[1, 10, 100], [2, 20, 100], [3, 30, 100]]
    assert [[b.impressions for b in s] for s in weeks] == [[11, 100], [22, 100], [33, 100]]
    assert [[b.impressions for b in s] for s in short] == [[1, 10], [2, 20], [3, 30]]


async def test_segment_loader_one_statement_for_a_range(db: AsyncSession, context_for) -> None:  # type: ignore[no-untyped-def]
    ids = await _three_campaigns(db)
    loader = SegmentTotalsByCampaignLoader(context_for(ADMIN))

    with counting((await db.connection()).sync_connection) as statements:
        found = await loader.load_many([(i, D1, D2) for i in ids])

    assert len(statements) == 1, statements
    assert [[(s.segment_name, s.users) for s in segments] for segments in found] == [
        [("a", n), ("b", n)] for n in (1, 2, 3)
    ]


async def test_totals_and_daily_loaders_one_statement_for_a_range(db: AsyncSession, context_for) -> None:  # type: ignore[no-untyped-def]
    ids = await _three_campaigns(db)
    context = context_for(ADMIN)

    with counting((await db.connection()).sync_connection) as statements:
        totals = await TotalsByCampaignLoader(context).load_many([(i, D1, D2) for i in ids])
        daily = await DailyMetricsByCampaignLoader(context).load_many([(i, D1, D2) for i in ids])

    assert len(statements) == 2, statements
    assert [t.impressions for t in totals] == [11, 22, 33]
    assert [len(rows) for rows in daily] == [2, 2, 2]


async def test_loaders_hide_other_merchants_campaigns(db: AsyncSession, context_for) -> None:  # type: ignore[no-untyped-def]
    mine, other = await f.make_merchant(db), await f.make_merchant(db)
    own = (await _three_campaigns(db, merchant_id=mine.id))[0]
    theirs = await _three_campaigns(db, merchant_id=other.id)
    context = context_for(merchant_viewer(mine.id))

    trends = await TrendByCampaignLoader(context).load_many(
        [(i, Granularity.WEEK, D1, D3) for i in [own, *theirs]]
    )
    segments = await SegmentTotalsByCampaignLoader(context).load_many([(i, D1, D3) for i in [own, *theirs]])

    assert [len(s) for s in trends] == [2, 0, 0, 0]
    assert [len(s) for s in segments] == [2, 0, 0, 0]


async def test_daily_rows_by_id_in_key_order_and_visibility(db: AsyncSession, settings: Settings) -> None:
    # given daily rows of our merchant's campaign and of another merchant's
    mine, other = await f.make_merchant(db), await f.make_merchant(db)
    own = await f.make_campaign_daily(db, campaign_id=(await running_campaign(db, merchant_id=mine.id)).id)
    theirs = await f.make_campaign_daily(
        db, campaign_id=(await running_campaign(db, merchant_id=other.id)).id
    )
    keys = [theirs.id, f.MISSING_ID, own.id]

    # when staff and the merchant load them all at once
    staff, statements = await load_counted(db, settings, DailyMetricsByIdLoader, keys, viewer=ADMIN)
    merchant, _ = await load_counted(
        db, settings, DailyMetricsByIdLoader, keys, viewer=merchant_viewer(mine.id)
    )

    # then one statement, values in key order, and the merchant sees only its own campaign's row
    assert len(statements) == 1
    assert [None if r is None else r.id for r in staff] == [theirs.id, None, own.id]
    assert [None if r is None else r.id for r in merchant] == [None, None, own.id]
