"""The event log's day partitions: there before an event of that day can arrive (the migration, then
the prune job ahead of time), and a day past retention dropped whole by prune()."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models.analytics import CampaignEventLog
from resolvers.admin.retention import prune
from resolvers.analytics.event_log import append_events
from resolvers.analytics.event_partitions import DEFAULT_PARTITION, partition_days
from resolvers.analytics.events import CampaignEvent, CampaignEventType
from resolvers.analytics.writes import MAX_AGE
from tests.analytics.support import running_campaign
from tests.support import fold_now

TODAY = dt.datetime.now(dt.UTC).date()


def _days(first: dt.date, count: int) -> set[dt.date]:
    return {first + dt.timedelta(days=n) for n in range(count)}


async def _in(db: AsyncSession, table: str) -> int:
    return int(await db.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def test_every_day_an_event_may_be_accepted_for_has_a_partition_after_migrating(
    db: AsyncSession,
) -> None:
    # MAX_AGE back, and a week ahead
    assert _days(TODAY - MAX_AGE, MAX_AGE.days + 8) <= await partition_days(db)


async def test_prune_creates_the_coming_days_ahead(db: AsyncSession) -> None:
    later = dt.datetime.combine(TODAY + dt.timedelta(days=20), dt.time(12), dt.UTC)

    await prune(db, now=later, partitions_ahead_days=3)

    assert _days(later.date() - MAX_AGE, MAX_AGE.days + 4) <= await partition_days(db)


async def test_a_folded_event_lands_in_its_days_partition(db: AsyncSession) -> None:
    campaign = await running_campaign(db)
    at = dt.datetime.combine(TODAY - dt.timedelta(days=3), dt.time(9), dt.UTC)
    await append_events(
        db, [CampaignEvent(campaign_id=campaign.id, type=CampaignEventType.CLICK, occurred_at=at)]
    )

    assert await fold_now(db) == 1

    assert await _in(db, f"campaign_events_{at:%Y%m%d}") == 1
    assert await _in(db, DEFAULT_PARTITION) == 0


async def test_prune_drops_the_partitions_of_days_past_retention(db: AsyncSession) -> None:
    # given events folded for a week ago and for today
    campaign = await running_campaign(db)
    old = dt.datetime.combine(TODAY - MAX_AGE, dt.time(9), dt.UTC)
    new = dt.datetime.combine(TODAY, dt.time(0), dt.UTC)
    events = [
        CampaignEvent(campaign_id=campaign.id, type=CampaignEventType.IMPRESSION, occurred_at=m)
        for m in (old, new)
    ]
    await append_events(db, events)
    await fold_now(db)

    # when prune runs on the day the week-old one passes a 10-day retention
    counts = await prune(db, now=old + dt.timedelta(days=11), event_retention_days=10)

    # then that day's partition is gone with its row, and today's is kept
    assert counts["campaign_events"] >= 1
    assert old.date() not in await partition_days(db)
    assert new.date() in await partition_days(db)
    assert list(await db.scalars(select(CampaignEventLog.day))) == [new.date()]
    assert await db.scalar(select(func.count()).select_from(CampaignEventLog)) == 1
